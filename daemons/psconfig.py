"""The pSConfig agent process: a cycle every interval (default PT1H), at once when a template
file or the remote list changes (checked every two seconds: a stat per file)."""

from __future__ import annotations

import time

from pscheduler_daemons.loop import run_loop

from pscheduler.config import Config
from pscheduler.db import Database
from pscheduler.psconfig import agent, sources

CHECK = 2.0


def main(config: Config) -> int:
    settings = agent.settings(config)
    state = {"signature": None, "due": 0.0}

    def step(db: Database, notes: list) -> float:  # noqa: ARG001
        signature = sources.signature(config.config_dir)
        now = time.monotonic()
        if signature != state["signature"] or now >= state["due"] or notes:
            state["signature"] = signature
            agent.cycle(db, config, settings)
            state["due"] = time.monotonic() + settings.interval.total_seconds()
        return max(0.0, min(CHECK, state["due"] - time.monotonic()))

    return run_loop("psconfig", config, ["psconfig"], step, refresh=CHECK)
