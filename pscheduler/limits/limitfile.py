"""A limit file watched for changes: what the API and the scheduler hold on to.

``LimitFile(path).processor()`` is cheap enough for every request: it stats the file at
most once per ``check_interval`` seconds and reloads when its mtime, size or inode moved.
A missing file means the inert processor.  A broken new version keeps the last good
configuration in force and ``status()`` reports the error until the file is fixed.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from pscheduler.limits.processor import LimitConfigError, LimitProcessor, Verdict, inert, load
from pscheduler.limits.testlimit import Checker


class LimitFile:
    def __init__(
        self,
        path: str | os.PathLike,
        check_interval: float = 1.0,
        test_checker: Checker | None = None,
    ):
        self.path = Path(path)
        self.check_interval = check_interval
        self._test_checker = test_checker
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._checked_at = float("-inf")
        self._current: LimitProcessor | None = None
        self._error: str | None = None
        self._refresh(force=True)

    def _stat(self) -> tuple | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return ("error", str(exc))
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._checked_at < self.check_interval:
                return
            self._checked_at = now
            signature = self._stat()
            if not force and signature == self._signature:
                return
            self._signature = signature
            if signature is None:
                self._current, self._error = inert(), None
                return
            try:
                self._current = load(self.path, self._test_checker)
                self._error = None
            except LimitConfigError as exc:
                self._error = str(exc)  # keep self._current: the last good configuration

    def reload(self) -> None:
        """Re-read the file now, whatever its timestamps say."""
        self._refresh(force=True)

    def processor(self) -> LimitProcessor:
        """The configuration in force; LimitConfigError when there has never been a good one."""
        self._refresh()
        with self._lock:
            if self._current is None:
                raise LimitConfigError(f"Limit processor is not initialized: {self._error}")
            return self._current

    def process(
        self, task: dict, hints: dict | None, rewrite: bool = True, prioritize: bool = False
    ) -> Verdict:
        """``processor().process(...)``: raises LimitConfigError only with no good config."""
        return self.processor().process(task, hints, rewrite, prioritize)

    def status(self) -> dict:
        """``{"ok": true}``, or ``{"ok": false, "error": ...}`` while the file is broken."""
        self._refresh()
        with self._lock:
            return {"ok": True} if self._error is None else {"ok": False, "error": self._error}
