"""The archiver daemon."""

from __future__ import annotations

from pscheduler_daemons.loop import run_loop

from pscheduler.config import Config


def step(db, notes) -> float:
    return 10.0


def main(config: Config) -> int:
    return run_loop("archiver", config, ["archiver_wake"], step)
