"""The timeline guarantee under load: no two conflicting runs, however many clients."""

from __future__ import annotations

import datetime as dt
import random
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import wait_for
from tests.tasks.util import iso, now, sql

CONFLICTING_PAIRS = """
SELECT count(*) AS n
FROM run a JOIN run b ON a.id < b.id AND a.times && b.times
WHERE a.state NOT IN ('nonstart', 'canceled', 'preempted', 'missed')
  AND b.state NOT IN ('nonstart', 'canceled', 'preempted', 'missed')
  AND (a.conflict_class = 'exclusive' AND b.conflict_class IN ('exclusive', 'normal')
       OR b.conflict_class = 'exclusive' AND a.conflict_class IN ('exclusive', 'normal'))
"""


def test_exclusive_runs_never_overlap(make_node):
    node = make_node()
    base = (now() + dt.timedelta(seconds=30)).replace(microsecond=0)
    rng = random.Random(1234)
    tasks = []
    for i in range(200):
        start = base + dt.timedelta(seconds=rng.randrange(0, 120))
        tasks.append(
            {
                "test": {
                    "type": "idleex" if i % 2 else "idlenorm",
                    "spec": {"duration": f"PT{rng.randrange(1, 5)}S"},
                },
                "schedule": {"start": iso(start), "slip": f"PT{rng.randrange(0, 60)}S"},
            }
        )

    def post(task):
        return node.post("tasks", json=task).status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(post, tasks))
    assert codes == [200] * 200

    def all_placed():
        rows = sql(node, "SELECT count(DISTINCT task) AS n FROM run")
        return rows[0]["n"] == 200

    wait_for(all_placed, timeout=60, interval=0.2, what="every task to get its run")
    counts = {
        r["state"]: r["n"] for r in sql(node, "SELECT state, count(*) AS n FROM run GROUP BY state")
    }
    assert counts.get("pending", 0) > 50  # most runs fit, so the check below is meaningful
    assert sql(node, CONFLICTING_PAIRS)[0]["n"] == 0


def test_database_refuses_overlap_even_without_the_scheduler(make_node):
    """The exclusion constraint, not Python, is the guarantee."""
    import psycopg2

    node = make_node()
    start = (now() + dt.timedelta(minutes=5)).replace(microsecond=0)
    url = node.post(
        "tasks",
        json={
            "test": {"type": "idleex", "spec": {"duration": "PT5S"}},
            "schedule": {"start": iso(start)},
        },
    ).json()
    wait_for(lambda: node.session.get(url + "/runs", timeout=10).json(), what="run placed")
    task_id = sql(node, "SELECT id FROM task WHERE uuid = %s", (url.rsplit("/", 1)[1],))[0]["id"]
    try:
        sql(
            node,
            "INSERT INTO run (uuid, task, times, state, conflict_class) VALUES "
            "(gen_random_uuid(), %s, tstzrange(%s, %s), 'pending', 'normal')",
            (task_id, start + dt.timedelta(seconds=1), start + dt.timedelta(seconds=2)),
        )
    except psycopg2.errors.ExclusionViolation:
        pass
    else:
        raise AssertionError("the database accepted an overlapping run")
