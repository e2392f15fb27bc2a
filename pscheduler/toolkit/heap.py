"""Giving freed heap back to the system."""

from __future__ import annotations

import contextlib
import ctypes


def trim() -> None:
    """Return freed heap to the system: glibc keeps it otherwise, and a process that once
    served a burst (connections, stream buffers) would keep its peak size."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
