"""Waiting for a loopback server to listen, without connecting to it (a one-shot server
would take the probe for its client), also when it runs inside a task's network namespace.
"""

from __future__ import annotations

import os
import threading
import time

SERVER_WAIT = 5.0  # how long the client waits for a loopback server to listen


def _listens(tables: list[str], port: int) -> bool:
    """Whether /proc's TCP tables show a socket listening (state 0A) on ``port``."""
    for table in tables:
        try:
            with open(table) as rows:
                for row in rows.readlines()[1:]:
                    fields = row.split()
                    if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
                        return True
        except OSError:
            continue
    return False


def _server_tables(name: str, port: int) -> list[str]:
    """The TCP tables of every ``name`` process with ``port`` among its arguments.  A
    server started inside a context (a network namespace) listens in that namespace, which
    only its own /proc/<pid>/net shows."""
    tables = ["/proc/net/tcp", "/proc/net/tcp6"]
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                argv = cmdline.read().split(b"\0")
        except OSError:
            continue
        if (
            argv
            and os.path.basename(argv[0]).decode(errors="replace") == name
            and (str(port).encode() in argv)
        ):
            tables += [f"/proc/{pid}/net/tcp", f"/proc/{pid}/net/tcp6"]
    return tables


def wait_listening(name: str, port: int, control, started: threading.Thread) -> bool:
    """Bounded wait until the loopback server (still running) listens on ``port``, probed
    without connecting: a one-shot server would take the probe for its client."""
    deadline = time.monotonic() + min(SERVER_WAIT, control.remaining())
    while time.monotonic() < deadline and started.is_alive():
        if _listens(_server_tables(name, port), port):
            return True
        if control.stop.wait(0.05):
            return False
    return False
