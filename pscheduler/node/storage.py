"""Free space of the state dir's file system, and what to say when it is full.

A full disk shows up in many places at once (PostgreSQL cannot extend a table or write WAL,
the metrics files cannot grow); every one of them answers with the same one-line message
naming the file system, so an operator sees the cause rather than "database unavailable".
"""

from __future__ import annotations

import os
import threading
import time

# Below this much free space the file system counts as full: PostgreSQL needs room for WAL
# segments and checkpoints well before the last byte is gone.
FULL_BELOW = 16 * 1024 * 1024
_CACHE_SECONDS = 1.0

_lock = threading.Lock()
_cache: dict[str, tuple[float, int | None]] = {}


def free_bytes(path: str) -> int | None:
    """Bytes an unprivileged writer may still use under ``path`` (None if unknown).

    Cached for a second: a request that fails on a full disk asks, and a hundred of them
    must not each call statvfs."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(path)
        if hit is not None and now - hit[0] < _CACHE_SECONDS:
            return hit[1]
    try:
        st = os.statvfs(path)
        value: int | None = st.f_bavail * st.f_frsize
    except OSError:
        value = None
    with _lock:
        _cache[path] = (now, value)
    return value


def is_full(path: str) -> bool:
    free = free_bytes(path)
    return free is not None and free < FULL_BELOW


def mount_point(path: str) -> str:
    """The mount point of the file system holding ``path``."""
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def full_message(path: str) -> str:
    """The one line every layer uses for a full state dir."""
    free = free_bytes(path)
    left = "unknown" if free is None else f"{free // 1024} KiB"
    return (
        f"the file system {mount_point(path)} holding the state dir {path} is full "
        f"({left} free); free some space and the node resumes by itself"
    )
