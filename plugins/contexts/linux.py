"""``linuxnns`` and ``linuxvrf``: run a tool's programs in a network namespace or a VRF.

Both go through ``ip`` (``ip netns exec`` / ``ip vrf exec``), which needs root.  A node
running as root calls it directly; otherwise it goes through ``sudo -n`` (the host must
allow it, as the original's sudoers file does) and ``setpriv`` drops back to the node's
own user before the program starts, so the program never runs with more rights than the
tool would have had outside the context.
"""

from __future__ import annotations

import os
import platform
import shutil

from pscheduler_plugins.common import enumeration

from pscheduler.hookspecs import Context, hookimpl
from pscheduler.toolkit.jsonval import schema_error

# Names become file names under /run/netns (namespaces) or interface names (VRFs).
NAMESPACE = {
    "type": "string",
    "pattern": r"^[^/\x00]+$",
    "x-invalid-message": "'%s' is not a valid namespace name.",
}
VRF = {
    "type": "string",
    "pattern": r"^[^/\s\x00]{1,15}$",
    "x-invalid-message": "'%s' is not a valid VRF name.",
}


def _ip() -> str:
    return shutil.which("ip") or "/sbin/ip"


def _as_root(argv: list[str], program: list[str]) -> list[str]:
    """``argv`` (an ``ip ... exec`` prefix) run as root, then ``program`` as ourselves."""
    if os.geteuid() == 0:
        return argv + program
    back = [
        "setpriv",
        f"--reuid={os.getuid()}",
        f"--regid={os.getgid()}",
        "--init-groups",
        "--",
    ]
    return ["sudo", "-n"] + argv + back + program


def _data_is_valid(key: str, schema: dict):
    def data_is_valid(data: dict) -> dict:
        if platform.system() != "Linux":
            return {"valid": False, "error": "This context is only supported on Linux."}
        error = schema_error(_schema(key, schema), data)
        return {"valid": True} if error is None else {"valid": False, "error": error}

    return data_is_valid


def _schema(key: str, schema: dict) -> dict:
    return {
        "type": "object",
        "properties": {"schema": {"type": "integer", "enum": [1]}, key: schema},
        "required": [key],
        "additionalProperties": False,
    }


def netns_wrap(data: dict, argv: list[str]) -> list[str]:
    return _as_root([_ip(), "netns", "exec", data["namespace"]], argv)


def vrf_wrap(data: dict, argv: list[str]) -> list[str]:
    return _as_root([_ip(), "vrf", "exec", data["vrf"]], argv)


@hookimpl
def pscheduler_contexts() -> list[Context]:
    return [
        Context(
            enumeration=enumeration("linuxnns", "Run in a Linux network namespace"),
            data_schema=_schema("namespace", NAMESPACE),
            data_is_valid=_data_is_valid("namespace", NAMESPACE),
            wrap=netns_wrap,
        ),
        Context(
            enumeration=enumeration("linuxvrf", "Run in a Linux virtual routing and forwarding"),
            data_schema=_schema("vrf", VRF),
            data_is_valid=_data_is_valid("vrf", VRF),
            wrap=vrf_wrap,
        ),
    ]
