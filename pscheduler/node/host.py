"""The machine under the node, for ``/pscheduler/status``: load, CPU, memory, disk, shape.

An operator (or the troubleshooter) reading why runs are late wants to know whether the host
is overloaded or its disk full without logging in.
"""

from __future__ import annotations

import os
import platform
import threading
import time

import psutil

from pscheduler.node import storage

_lock = threading.Lock()
_last_cpu_sample = 0.0
_last_cpu_value = 0.0
_CPU_SPAN = 0.5  # shorter spans between samples say nothing: the last value is answered


def _cpu_percent() -> float:
    """CPU use since the previous sample; the first call in a process measures 0.1 s.

    Never blocks after that: /status polled many times a second used to measure 0.1 s per
    request under a lock, so concurrent requests queued 0.1 s each (issue 14).
    """
    global _last_cpu_sample, _last_cpu_value
    with _lock:
        if _last_cpu_sample == 0.0:
            _last_cpu_value = psutil.cpu_percent(interval=0.1)
        elif time.monotonic() - _last_cpu_sample >= _CPU_SPAN:
            _last_cpu_value = psutil.cpu_percent(interval=None)
        else:
            return _last_cpu_value
        _last_cpu_sample = time.monotonic()
        return _last_cpu_value


def host_status(state_dir: str) -> dict:
    load1, load5, load15 = os.getloadavg()
    try:
        disk = round(psutil.disk_usage(state_dir).percent, 1)
    except OSError:
        disk = None
    return {
        "load": {"1": round(load1, 2), "5": round(load5, 2), "15": round(load15, 2)},
        "cpu-percent": round(_cpu_percent(), 1),
        "memory-percent": round(psutil.virtual_memory().percent, 1),
        "disk-percent": disk,
        "state-dir-free-bytes": storage.free_bytes(state_dir),
        "state-dir-full": storage.is_full(state_dir),
        "cpu-count": psutil.cpu_count() or os.cpu_count(),
        "architecture": platform.machine(),
    }
