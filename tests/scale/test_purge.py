"""Old runs leave the table in bounded batches, and the ticker keeps going until all are out."""

from __future__ import annotations

import datetime as dt

from tests.helpers import wait_for
from tests.tasks.util import idle, post_task, sql


def test_many_old_runs_are_purged_in_batches(quiet_node):
    node = quiet_node
    start = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    url = post_task(node, idle("PT1S", start=start))
    task_uuid = url.rstrip("/").rsplit("/", 1)[1]
    # More than one pass's worth (10 batches of 1,000), finished three days ago.
    sql(
        node,
        "INSERT INTO run (uuid, task, times, state) "
        "SELECT gen_random_uuid(), t.id, tstzrange(now() - interval '3 days' + s * interval '1 s',"
        " now() - interval '3 days' + s * interval '1 s' + interval '1 s'), 'finished' "
        "FROM task t, generate_series(1, 12000) s WHERE t.uuid = %s",
        (task_uuid,),
    )

    def old_runs() -> int:
        return sql(
            node,
            "SELECT count(*) AS n FROM run WHERE upper(times) < now() - interval '2 days'",
        )[0]["n"]

    wait_for(lambda: old_runs() == 0, timeout=30, interval=0.2, what="the old runs to go")
    assert node.get(url.split("/pscheduler/", 1)[1] + "/runs").status_code == 200
    node.delete(url.split("/pscheduler/", 1)[1])
