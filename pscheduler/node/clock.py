"""The clock state a node reports at /clock: kernel sync flag, chrony or ntpd, and an NTP query.

Nothing here may raise: a clock that cannot be read is ``synchronized: false`` with an error.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import re
import shutil
import subprocess
import threading
import time

import ntplib

_STA_UNSYNC = 0x0040
_TIME_ERROR = 5


class _Timex(ctypes.Structure):
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("pad", ctypes.c_int * 11),
    ]


def kernel_synchronized() -> bool | None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != _TIME_ERROR and not (timex.status & _STA_UNSYNC)


def _chrony() -> dict | None:
    if not shutil.which("chronyc"):
        return None
    try:
        out = subprocess.run(
            ["chronyc", "tracking"], capture_output=True, text=True, timeout=2
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    ref = re.search(r"Reference ID\s*:\s*\S+\s*\(([^)]*)\)", out)
    offset = re.search(r"System time\s*:\s*([\d.]+) seconds (fast|slow)", out)
    if not ref or not offset:
        return None
    value = float(offset.group(1)) * (1 if offset.group(2) == "fast" else -1)
    return {"source": "chrony", "reference": ref.group(1), "offset": value}


_ntp_cache: dict = {}
_ntp_lock = threading.Lock()


def _ntp_query(server: str, timeout: float = 1.0) -> dict:
    """Ask an NTP server, cached for a minute so /clock stays fast under load."""
    with _ntp_lock:
        cached = _ntp_cache.get(server)
        if cached and time.monotonic() - cached[0] < 60:
            return cached[1]
    try:
        response = ntplib.NTPClient().request(server, version=3, timeout=timeout)
        answer = {"source": "ntp", "reference": server, "offset": response.offset}
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
        answer = {"error": f"NTP query to {server} failed: {exc}"}
    with _ntp_lock:
        _ntp_cache[server] = (time.monotonic(), answer)
    return answer


def clock_state(ntp_server: str | None) -> dict:
    state: dict = {"time": dt.datetime.now().astimezone().isoformat(timespec="microseconds")}
    synced = kernel_synchronized()
    state["synchronized"] = bool(synced)
    daemon = _chrony()
    if daemon:
        state.update(daemon)
        return state
    if ntp_server:
        answer = _ntp_query(ntp_server)
        if "error" in answer:
            state.update({"source": "unknown", "error": answer["error"]})
            state["synchronized"] = False
        else:
            state.update(answer)
            state["synchronized"] = bool(synced) and abs(answer["offset"]) < 1.0
        return state
    state.update({"source": "unknown"})
    if not synced:
        state["error"] = "The kernel reports the clock as unsynchronized"
    return state
