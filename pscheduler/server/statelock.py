"""One node per state dir: an exclusive lock held by the supervisor for its whole life.

Two supervisors on one state dir would share the embedded cluster, the Prometheus files and
the certificate, and run every daemon twice.  The lock is ``flock`` on a file in the state
dir, so the kernel releases it when the holder dies however it dies (``kill -9``, a power
cut): a stale lock file never blocks a start.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO

LOCK_FILE = "pscheduler-server.lock"


class StateDirBusy(Exception):
    """Another live node holds the state dir."""


def acquire(state_dir: str, listen: str) -> IO[str]:
    """Hold the state dir's lock (keep the returned file open); StateDirBusy if taken."""
    path = os.path.join(state_dir, LOCK_FILE)
    handle = open(path, "a+")  # noqa: SIM115 - held open for the node's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StateDirBusy(
            f"the state dir {state_dir} is in use by another pscheduler-server ({holder}); "
            "stop that one first or give another --state-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, listening on {listen}\n")
    handle.flush()
    return handle
