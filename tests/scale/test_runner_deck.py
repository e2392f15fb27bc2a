"""Runs claimed on deck by a runner that dies are not lost: its successor takes them back."""

from __future__ import annotations

import datetime as dt
import os
import signal

from tests.helpers import wait_for
from tests.tasks.util import idle, iso, now, post_task, runs, sql


def _runner_pid(node) -> int:
    return sql(node, "SELECT pid FROM heartbeat WHERE name = 'runner'")[0]["pid"]


def test_runner_killed_with_runs_on_deck_loses_none(quiet_node):
    node = quiet_node
    start = (now() + dt.timedelta(seconds=20)).replace(microsecond=0)
    urls = [post_task(node, idle("PT1S", start=iso(start))) for _ in range(3)]
    wait_for(
        lambda: all(r["state"] == "on-deck" for url in urls for r in runs(node, url)),
        timeout=25,
        interval=0.1,
        what="the runs to go on deck (5 s ahead)",
    )
    old = _runner_pid(node)
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: _runner_pid(node) != old, timeout=30, what="the runner's restart")
    for url in urls:
        done = node.session.get(
            url + "/runs/first", params={"wait-merged": "", "wait": "40"}, timeout=50
        ).json()
        assert done["state"] == "finished", done
