"""Logging to stderr with level and process name, which journald keeps under systemd."""

from __future__ import annotations

import logging
import sys
import threading
import time
import warnings


def setup(process: str, debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            f"%(asctime)s %(levelname)s pscheduler-{process}[%(process)d] %(name)s: %(message)s"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    for noisy in ("urllib3", "pika", "werkzeug", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Throttle:
    """Lets one message of a kind through per ``seconds``: a fault that lasts (a full disk,
    a database down) is logged once a minute with how often it recurred, not per attempt."""

    def __init__(self, seconds: float = 60.0):
        self.seconds = seconds
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, kind: str) -> int | None:
        """None to stay quiet; else how many of ``kind`` were held back since the last one."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.seconds:
                self._skipped[kind] = self._skipped.get(kind, 0) + 1
                return None
            self._last[kind] = now
            return self._skipped.pop(kind, 0)

    def log(self, logger: logging.Logger, level: int, kind: str, msg: str, *args) -> None:
        skipped = self.allow(kind)
        if skipped is None:
            return
        if skipped:
            msg += f" (and {skipped} more like it since)"
        logger.log(level, msg, *args)
