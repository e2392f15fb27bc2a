"""A participant that goes away: placement names it, cancellation reaches it when it is back."""

from __future__ import annotations

import contextlib
import datetime as dt

import psycopg2
import pytest

from pscheduler.toolkit.iso8601 import parse_timestamp
from tests.helpers import wait_for
from tests.multi.common import first_run, post_task, run_uuid, runs_of


def idle_on(*nodes) -> dict:
    return {
        "type": "idle",
        "spec": {"schema": 2, "duration": "PT1S", "host": [n.address for n in nodes]},
    }


@contextlib.contextmanager
def horizon(node, value: str, setting: str = "schedule_horizon"):
    """A short schedule horizon, so the lead places each run shortly before it is due."""
    conn = psycopg2.connect(node.dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT {setting} FROM configurables")
            (was,) = cur.fetchone()
            cur.execute(f"UPDATE configurables SET {setting} = %s", (value,))
        yield
    finally:
        with conn.cursor() as cur:
            cur.execute(f"UPDATE configurables SET {setting} = %s", (was,))
        conn.close()


@pytest.fixture
def ensure_b_up(nodes):
    yield
    b = nodes[1]
    if b.proc is None or b.proc.poll() is not None:
        b.start()


def test_participant_down_makes_a_nonstarter_naming_it_then_runs_resume(nodes, ensure_b_up):
    a, b = nodes
    with horizon(a, "PT6S"):
        task = post_task(a, idle_on(a, b), {"repeat": "PT4S", "slip": "PT2S"})
        run = first_run(a, task)
        assert run["state"] != "nonstart", run["errors"]
        assert b.get(f"tasks/{task}/runs/{run_uuid(run)}").status_code == 200
        b.stop()
        stopped = dt.datetime.now(dt.timezone.utc)
        nonstarts = wait_for(
            lambda: [
                r
                for r in runs_of(a, task)
                if r["state"] == "nonstart" and parse_timestamp(r["start-time"]) > stopped
            ],
            timeout=20,
            interval=0.3,
            what="a non-starter while B is down",
        )
        assert b.address in nonstarts[0]["errors"], nonstarts[0]["errors"]
        b.start()
        back = dt.datetime.now(dt.timezone.utc)
        placed = wait_for(
            lambda: [
                r
                for r in runs_of(a, task)
                if r["state"] != "nonstart" and parse_timestamp(r["start-time"]) > back
            ],
            timeout=20,
            interval=0.3,
            what="a run placed after B came back",
        )
        later = placed[0]["href"].rsplit("/", 1)[1]
        assert b.get(f"tasks/{task}/runs/{later}").status_code == 200
        assert a.delete(f"tasks/{task}").status_code == 200


def test_cancel_while_participant_down_reaches_it_when_back(nodes, ensure_b_up):
    a, b = nodes
    task = post_task(a, idle_on(a, b), {"start": "PT1H"})
    assert b.get(f"tasks/{task}", params={"detail": "true"}).json()["detail"]["enabled"] is True
    b.stop()
    assert a.delete(f"tasks/{task}").status_code == 200
    assert int(a.get("stat/http-queue/length").text) >= 1
    # The first attempt fails (B is down) and is retried with backoff.
    wait_for(
        lambda: int(a.get("stat/http-queue/backlog").text) == 0,
        timeout=10,
        what="the first attempt of the queued DELETE",
    )
    assert int(a.get("stat/http-queue/length").text) >= 1
    b.start()
    wait_for(
        lambda: (
            b.get(f"tasks/{task}", params={"detail": "true"}).json()["detail"]["enabled"] is False
        ),
        timeout=20,
        interval=0.2,
        what="B's copy to be cancelled",
    )
    wait_for(
        lambda: a.get("stat/http-queue/length").text.strip() == "0",
        timeout=10,
        what="an empty queue",
    )


def test_runs_with_other_participants_are_placed_only_multi_horizon_ahead(nodes):
    """Each such run costs requests to every participant: a lead places them multi_horizon
    ahead (here 20 s), not the whole schedule horizon (a day: 8,640 runs of this task), and
    goes on placing as time passes."""
    a, b = nodes
    with horizon(a, "PT20S", "multi_horizon"):
        started = dt.datetime.now(dt.timezone.utc)
        task = post_task(a, idle_on(a, b), {"repeat": "PT5S", "slip": "PT2S", "max-runs": 100})

        def three_finished():
            runs = runs_of(a, task)
            return runs if sum(r["state"] == "finished" for r in runs) >= 3 else None

        runs = wait_for(three_finished, timeout=60, interval=0.5, what="three finished runs")
        now = dt.datetime.now(dt.timezone.utc)
        latest = max(parse_timestamp(r["start-time"]) for r in runs)
        assert latest <= now + dt.timedelta(seconds=20 + 2 + 2), (latest, now)
        elapsed = (now - started).total_seconds()
        assert len(runs) <= (elapsed + 20 + 2) / 5 + 2, len(runs)
        assert a.delete(f"tasks/{task}").status_code == 200
