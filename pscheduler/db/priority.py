"""Background work at background priority inside PostgreSQL.

When 1,000 runs end together the finisher stores their outcomes in a few statements that cost
PostgreSQL about two seconds of CPU (results, events, counters and index entries for every
run), on the same cores that start the next runs and answer the API.  Those outcomes are late
by nature and nobody waits on them, so the backend of the finisher's own connection runs at a
lower CPU priority (a higher nice value), and the statements that must be quick go first.

Only a backend that is provably ours to renice is touched: a server reached over a Unix
socket on this machine, whose socket lock file names the postmaster that is the backend's
parent.  A remote server's backend pid means nothing here; renicing it would renice whichever
local process has that number.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def lower_backend(conn, niceness: int) -> bool:
    """Renice the PostgreSQL backend serving ``conn``; whether it was done."""
    host, port, pid = conn.info.host, conn.info.port, conn.info.backend_pid
    if not host or not host.startswith("/"):
        return False
    try:
        lock = (Path(host) / f".s.PGSQL.{port}.lock").read_text().split("\n", 1)[0]
        postmaster = int(lock)
    except (OSError, ValueError):
        return False
    if _parent(pid) != postmaster:
        return False
    with contextlib.suppress(OSError):  # another user's server without CAP_SYS_NICE
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
        return True
    return False
