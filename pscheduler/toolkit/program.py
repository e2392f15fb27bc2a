"""Running measurement programs from tool plugins: timeouts, cancellation, no zombies.

Tools get a ``RunControl`` from the runner.  Every program is started in its own process
group so that a timeout or a cancel kills it together with anything it spawned.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ProgramResult:
    status: int
    stdout: str
    stderr: str
    timed_out: bool = False
    cancelled: bool = False


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_program(
    argv: list[str],
    timeout: float | None = None,
    stop: threading.Event | None = None,
    input: str | None = None,
    env: dict | None = None,
) -> ProgramResult:
    """Run ``argv`` to completion, a timeout (status 2) or a stop request (status 2).

    A program that cannot be started gives status 127 with the reason on stderr, as a shell
    would, rather than an exception.
    """
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env=env,
        )
    except OSError as exc:
        return ProgramResult(127, "", f"Unable to run {argv[0]}: {exc.strerror or exc}")

    outcome: dict = {}

    def communicate() -> None:
        try:
            outcome["out"], outcome["err"] = proc.communicate(input)
        except Exception as exc:  # noqa: BLE001 - reported as the program's failure
            outcome["exc"] = exc

    reader = threading.Thread(target=communicate, daemon=True)
    reader.start()
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    timed_out = cancelled = False
    while reader.is_alive():
        wait = 0.05
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            wait = min(wait, left)
        if stop is not None and stop.wait(wait):
            cancelled = True
            break
        reader.join(wait if stop is None else 0)
    if timed_out or cancelled:
        _kill_group(proc)
        reader.join(5)
        message = "Process took too long to run." if timed_out else "Run was cancelled."
        return ProgramResult(2, outcome.get("out") or "", message, timed_out, cancelled)
    if "exc" in outcome:
        return ProgramResult(2, "", f"Error reading from {argv[0]}: {outcome['exc']}")
    return ProgramResult(proc.returncode, outcome.get("out") or "", outcome.get("err") or "")


@dataclass
class RunControl:
    """What a tool's ``run`` gets from the runner to behave well.

    deadline: ``time.monotonic()`` value by which the tool must have returned.
    stop: set when the run is cancelled or the runner shuts down.
    wrappers: context plugins' argv wrappers, applied to every program the tool starts.
    emit: for background-multi tools, hands over one result record (each becomes a run).
    """

    deadline: float
    stop: threading.Event = field(default_factory=threading.Event)
    tmpdir: str | None = None
    wrappers: list[Callable[[list[str]], list[str]]] = field(default_factory=list)
    emit: Callable[[dict], None] | None = None

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def sleep_until(self, when: dt.datetime) -> bool:
        """Sleep until ``when`` (aware datetime); False if the run was stopped meanwhile."""
        while True:
            left = (when - dt.datetime.now(dt.timezone.utc)).total_seconds()
            if left <= 0:
                return not self.stop.is_set()
            if self.stop.wait(min(left, 1.0)):
                return False

    def run_program(
        self,
        argv: list[str],
        timeout: float | None = None,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> ProgramResult:
        """Run a program inside the task's contexts, bounded by the run's deadline.

        ``env`` adds variables to the program's environment: secrets such as a password go
        there rather than on the command line, which every local user can read.
        """
        for wrap in self.wrappers:
            argv = wrap(argv)
        limit = self.remaining() if timeout is None else min(timeout, self.remaining())
        env = {**os.environ, **(env or {})}
        if self.tmpdir:
            env["TMPDIR"] = self.tmpdir
        return run_program(argv, timeout=limit, stop=self.stop, input=input, env=env)
