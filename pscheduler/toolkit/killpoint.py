"""A test hook: the process dies by SIGKILL at a named point of its work, once.

Fault tests start a node with ``PSCHEDULER_KILLPOINTS`` naming a directory and create a file
there named after a point (``execute-stored``); the first process to reach that point removes
the file and kills itself, as an OOM kill or a power cut would at that moment.  Without the
variable (production) a point costs one environment look-up.
"""

from __future__ import annotations

import os
import signal

ENV = "PSCHEDULER_KILLPOINTS"


def reached(name: str) -> None:
    """Die here if the test armed ``name`` (each arming kills one process, once)."""
    folder = os.environ.get(ENV)
    if not folder:
        return
    try:
        os.unlink(os.path.join(folder, name))
    except OSError:
        return  # not armed, or another process took it
    os.kill(os.getpid(), signal.SIGKILL)
