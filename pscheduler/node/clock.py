"""The clock state a node reports: /clock as the original answers it, /status's diagnosis.

``/clock`` is read by other pScheduler hosts (the clock test's remote side is validated
against the original's schema, which allows no other member): ``{time, synchronized, source}``,
plus ``reference`` and ``offset`` when the clock is synchronised.  It comes from the system's
own clock state (the kernel's ``adjtimex`` and the time daemon that disciplines it) and never
queries an NTP server itself.  Why a clock is not synchronised, and an optional comparison
with a configured NTP server, is diagnosis for ``/status``.

Nothing here may raise: a clock that cannot be read is ``synchronized: false``.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import functools
import re
import shutil
import subprocess
import threading
import time

import ntplib

_STA_UNSYNC = 0x0040
_STA_NANO = 0x2000
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


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL("libc.so.6", use_errno=True)


def kernel_clock() -> dict | None:
    """The kernel's clock discipline state (``adjtimex`` read-only), None if unreadable."""
    try:
        libc = _libc()
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    scale = 1e-9 if timex.status & _STA_NANO else 1e-6
    return {
        "synchronized": state != _TIME_ERROR and not (timex.status & _STA_UNSYNC),
        "state": state,
        "offset": timex.offset * scale,
        "maxerror": timex.maxerror * 1e-6,
        "esterror": timex.esterror * 1e-6,
    }


def kernel_synchronized() -> bool | None:
    kernel = kernel_clock()
    return None if kernel is None else kernel["synchronized"]


def _chrony() -> dict | None:
    """chronyd's view (``chronyc tracking``), None where chrony does not run."""
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


def _ntpd() -> dict | None:
    """The local ntpd's view, where ntpd is installed (as the original, which asks it)."""
    if not shutil.which("ntpq"):
        return None
    try:
        import ntplib

        answer = ntplib.NTPClient().request("127.0.0.1", version=3, timeout=2)
    except Exception:  # noqa: BLE001 - no local daemon answering means no ntpd source
        return None
    stratum = (
        ntplib.stratum_to_text(answer.stratum)
        if answer.stratum > 0
        else "unspecified or invalid stratum"
    )
    return {
        "source": "ntp",
        "reference": f"{stratum} from {ntplib.ref_id_to_text(answer.ref_id)}",
        "offset": answer.offset,
    }


_DAEMON_TTL = 5.0
_daemon_lock = threading.Lock()
_daemon_seen: list = []  # [(monotonic time, view)] once asked


def _daemon() -> dict | None:
    """chrony's or ntpd's view, asked at most every few seconds: a ``chronyc`` process or an
    NTP exchange per ``/status`` or ``/clock`` would cost more than the rest of the answer."""
    with _daemon_lock:
        if _daemon_seen and time.monotonic() - _daemon_seen[0][0] < _DAEMON_TTL:
            return _daemon_seen[0][1]
    view = _chrony() or _ntpd()
    with _daemon_lock:
        _daemon_seen[:] = [(time.monotonic(), view)]
    return view


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="microseconds")


def clock_state() -> dict:
    """What ``GET /clock`` answers: the original's keys only."""
    now = _now()
    kernel = kernel_clock()
    synced = bool(kernel and kernel["synchronized"])
    state: dict = {"time": now, "synchronized": synced}
    daemon = _daemon()
    state["source"] = daemon["source"] if daemon else "unknown"
    if synced:
        if daemon:
            state["reference"], state["offset"] = daemon["reference"], daemon["offset"]
        else:
            # Disciplined by something we cannot name: the kernel's own estimate.
            state["reference"] = "kernel clock discipline"
            state["offset"] = kernel["offset"]
    return state


_ntp_cache: dict = {}
_ntp_lock = threading.Lock()


def _ntp_query(server: str, timeout: float = 1.0) -> dict:
    """Ask an NTP server, cached for a minute so /status stays fast under load."""
    with _ntp_lock:
        cached = _ntp_cache.get(server)
        if cached and time.monotonic() - cached[0] < 60:
            return cached[1]
    try:
        response = ntplib.NTPClient().request(server, version=3, timeout=timeout)
        answer = {"server": server, "offset": response.offset}
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
        answer = {"server": server, "error": f"NTP query to {server} failed: {exc}"}
    with _ntp_lock:
        _ntp_cache[server] = (time.monotonic(), answer)
    return answer


def clock_diagnosis(ntp_server: str | None) -> dict:
    """The clock section of ``/status``: /clock's answer, the kernel's state, the reason the
    clock is not synchronised and, when an NTP server is configured, how far off it is."""
    state = clock_state()
    state.pop("time", None)
    kernel = kernel_clock()
    state["kernel"] = kernel
    if kernel is None:
        state["problem"] = "The kernel's clock state (adjtimex) cannot be read"
    elif not kernel["synchronized"]:
        state["problem"] = "The kernel reports the clock as unsynchronized"
    if ntp_server:
        check = _ntp_query(ntp_server)
        state["ntp-check"] = check
        if "error" in check:
            state.setdefault("problem", check["error"])
    return state
