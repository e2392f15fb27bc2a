"""Giving freed heap back to the system."""

from __future__ import annotations

import contextlib
import ctypes

M_ARENA_MAX = -8  # glibc's mallopt parameter


def trim() -> None:
    """Return freed heap to the system: glibc keeps it otherwise, and a process that once
    served a burst (connections, stream buffers) would keep its peak size."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def limit_arenas(count: int) -> None:
    """Let the process's threads share ``count`` malloc arenas: by default glibc gives threads
    up to eight per core, and each keeps the freed memory of the moment it was busiest, so a
    process of 64 request threads that served a peak (500 TLS streams) stays at that size."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, count)


class PeakTrim:
    """Gives freed heap back once a peak of ``least`` or more things (connections, streams)
    is half gone: glibc keeps what they freed otherwise, and a process that once held 500 TLS
    clients would keep their size."""

    def __init__(self, least: int) -> None:
        self.least = least
        self.peak = 0  # most at once since the heap was last trimmed

    def count(self, now: int) -> None:
        """How many there are now (after any that arrived or left)."""
        self.peak = max(self.peak, now)
        if self.peak >= self.least and now <= self.peak // 2:
            trim()
            self.peak = now
