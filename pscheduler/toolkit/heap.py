"""Giving freed heap back to the system."""

from __future__ import annotations

import contextlib
import ctypes
import os

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


PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def private_kb() -> int:
    """This process's resident anonymous memory (its heaps), in kB: /proc/self/statm's
    resident pages less the file-backed ones, which are mapped code and data shared with
    every other process."""
    with open("/proc/self/statm") as f:
        resident, shared = f.read().split()[1:3]
    return (int(resident) - int(shared)) * PAGE_KB


class PeakRetire:
    """Tells a worker to hand over to a fresh process once a peak of ``least`` or more
    connections (streams included) has gone (``quiet`` or fewer left, all of them idle) if,
    trimmed, it is more than ``growth`` bigger than it was before its first peak.

    Why a new process: what a peak allocated is freed, but not given back.  Python's small
    object allocator releases a 1 MB arena only once every object in it is gone, and the few
    objects a worker keeps making while the peak lasts (its pooled connections' state, the
    caches it refreshes: 4,465 blocks, 637 kB, by tracemalloc over bench/scale.py's phase 5)
    land in the arenas the peak filled and pin them.  500 TLS streams and 500 idle clients
    left each API worker a quarter bigger, then half bigger after three such peaks, with under
    0.5 MB of it live.  A fresh fork of the master has none of it; the worker's graceful stop
    lets its requests finish and tells kept-alive clients to reconnect.

    The reference is the size before the first peak, not before the last: each peak may leave
    a little less than ``growth`` behind, and from one to the next they add up.  ``growth``
    < 0: never."""

    def __init__(self, least: int, quiet: int, growth: float, size=private_kb) -> None:
        self.least = least
        self.quiet = quiet
        self.growth = growth
        self.size = size
        self.peak = 0  # most connections at once since the last quiet moment
        self.before: int | None = None  # kB at the last quiet moment before the first peak
        self.peaked = False
        self.reason = ""

    def count(self, held: int, busy: int) -> bool:
        """How many connections the worker holds now, how many of them it must not cut (its
        streams, requests under way or awaited on a new connection); whether it should retire.
        Called about once a second (reads one small /proc file)."""
        if self.growth < 0:
            return False
        if held > self.quiet or busy:
            self.peak = max(self.peak, held)
            return False
        peak, self.peak = self.peak, held
        if peak < self.least or self.before is None:
            if not self.peaked:
                self.before = self.size()
            return False
        self.peaked = True
        trim()
        after = self.size()
        if after <= self.before * (1 + self.growth):
            return False
        self.reason = (
            f"{after} kB after a peak of {peak} connections, {self.before} kB before the first"
            f" (+{(after - self.before) * 100 / self.before:.0f}%)"
        )
        return True
