"""Path-MTU check for /mtu-safe (tracepath based; ``safe: false`` when it cannot tell)."""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import subprocess

from pscheduler.errors import BadRequest


def check_destination(dest: str) -> None:
    """BadRequest unless ``dest`` can be a host name or address (before any lookup)."""
    if "\x00" in dest or dest.startswith("-") or any(c.isspace() for c in dest):
        raise BadRequest(f"Invalid destination {dest[:100]!r}")
    try:
        ipaddress.ip_address(dest)
        return
    except ValueError:
        pass
    try:
        dest.encode("idna")
    except UnicodeError as exc:
        raise BadRequest(
            f"Invalid destination {dest[:100]!r}: not a valid host name ({exc})"
        ) from None


def _is_local(dest: str) -> bool:
    try:
        infos = socket.getaddrinfo(dest, None)
    except (socket.gaierror, UnicodeError, ValueError):
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address.is_loopback:
            return True
    return False


def mtu_safe(dest: str) -> dict:
    check_destination(dest)
    if _is_local(dest):
        return {"safe": True, "message": "N/A (Local)"}
    if not shutil.which("tracepath"):
        return {"safe": False, "message": "Unable to check: tracepath is not installed"}
    try:
        out = subprocess.run(
            ["tracepath", "-n", "-m", "15", dest], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"safe": False, "message": f"Unable to check: {exc}"}
    mtus = [int(m) for m in re.findall(r"pmtu (\d+)", out)]
    if not mtus:
        return {"safe": False, "message": "Unable to determine the path MTU"}
    if len(set(mtus)) > 1 and mtus[-1] < mtus[0]:
        return {"safe": False, "message": f"MTU along path drops from {mtus[0]} to {mtus[-1]}"}
    return {"safe": True, "message": str(mtus[-1])}
