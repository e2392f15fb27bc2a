"""A new task's first runs are committed (and the runner notified) before its horizon.

A task repeating every 2 s has over 40,000 runs in a day's horizon; its first run must be
visible, and start, without waiting for the transaction that places all of them.
"""

from __future__ import annotations

import datetime as dt

from tests.helpers import wait_for
from tests.tasks.util import idle, post_task, sql


def _placed(node, task_url: str) -> int:
    task_uuid = task_url.rstrip("/").rsplit("/", 1)[1]
    return sql(
        node,
        "SELECT count(*) AS n FROM run r JOIN task t ON t.id = r.task WHERE t.uuid = %s",
        (task_uuid,),
    )[0]["n"]


def test_first_run_is_visible_before_the_horizon_is_placed(quiet_node):
    node = quiet_node
    url = post_task(node, idle("PT1S", repeat="PT2S"))
    try:
        first = wait_for(
            lambda: (
                (
                    r := node.session.get(url + "/runs/first", params={"wait": "0"}, timeout=10)
                ).status_code
                == 200
                and (r.json(), _placed(node, url))
            ),
            timeout=20,
            interval=0.02,
            what="the first run",
        )
        run, placed_then = first
        # Seen while at most the soon runs (a few minutes' worth) were there, not ~43,000.
        assert placed_then < 1000, f"first run visible only with {placed_then} runs placed"
        done = node.session.get(
            url + "/runs/first", params={"wait-merged": "", "wait": "30"}, timeout=40
        ).json()
        assert done["state"] == "finished", done
        late = dt.datetime.fromisoformat(done["started"]) - dt.datetime.fromisoformat(
            run["start-time"]
        )
        assert late < dt.timedelta(seconds=1), late
        # The rest of the horizon follows, in bounded transactions.
        wait_for(
            lambda: _placed(node, url) > placed_then + 100,
            timeout=60,
            interval=0.5,
            what="more of the horizon",
        )
    finally:
        node.delete(url.split("/pscheduler/", 1)[1], timeout=90)
