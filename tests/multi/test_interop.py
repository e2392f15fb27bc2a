"""What an original pScheduler host depends on, checked ours-to-ours (A 127.0.0.2, B 127.0.0.3).

Each test holds our answers to the shape the original expects (docs/interop.md): the original
is not installed here, so its contracts are written down as schemas and checks below.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import time

import jsonschema
import pytest

from pscheduler.toolkit.iso8601 import utcnow
from tests.helpers import require_program
from tests.multi.common import first_run, merged, post_task, run_uuid, runs_of

# The original's SystemClockStatus (its JSON dictionary): nothing else is allowed, and the
# original's clock test validates the remote side's /clock against it.
ORIGINAL_CLOCK_STATE = {
    "type": "object",
    "properties": {
        "time": {"type": "string"},
        "synchronized": {"type": "boolean"},
        "source": {"type": "string"},
        "reference": {"type": "string"},
        "offset": {"type": "number"},
    },
    "required": ["time", "synchronized"],
    "additionalProperties": False,
}
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$")
FAST = {"schema": 3, "duration": "PT1S", "link-rtt": "PT0.01S"}


def throughput(dest, **spec) -> dict:
    return {"type": "throughput", "spec": {**FAST, "dest": dest.host, "dest-node": dest.address}}


def test_clock_answers_the_originals_keys_only(nodes):
    for node in nodes:
        clock = node.get("clock").json()
        jsonschema.validate(clock, ORIGINAL_CLOCK_STATE)
        assert LOCAL_TIME.match(clock["time"]), clock["time"]
        if clock["synchronized"]:
            assert set(clock) == {"time", "synchronized", "source", "reference", "offset"}
        else:
            assert set(clock) == {"time", "synchronized", "source"}
        # The diagnosis lives in /status.
        diagnosis = node.get("status").json()["clock"]
        assert diagnosis["synchronized"] == clock["synchronized"]
        assert "kernel" in diagnosis
        if not clock["synchronized"]:
            assert diagnosis["problem"]


def test_clock_test_remote_side_passes_the_originals_schema(nodes):
    """The original leading a clock test against us validates our /clock strictly."""
    a, b = nodes
    task = post_task(
        a, {"type": "clock", "spec": {"schema": 1, "source": a.address, "dest": b.address}}
    )
    response = a.get(f"tasks/{task}/runs/first")  # no wait: the original CLI's request
    assert response.status_code == 200, response.text
    result = merged(a, task, run_uuid(response.json()), wait=20)["result-merged"]
    assert result["succeeded"] is True, result
    for side in ("local", "remote"):
        jsonschema.validate(result[side], ORIGINAL_CLOCK_STATE)


def test_runs_first_waits_by_default_for_a_multi_participant_run(nodes):
    """The original CLI posts a task and asks for runs/first with no ``wait``: the server
    waits (up to 30 s) for the lead to place the run on every participant."""
    a, b = nodes
    require_program("iperf3")
    task = post_task(a, throughput(b), {"start": "PT1M"})
    try:
        started = time.monotonic()
        response = a.get(f"tasks/{task}/runs/first", timeout=40)
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 30
        run = response.json()
        assert run["state"] == "pending", run
        nxt = a.get(f"tasks/{task}/runs/next", timeout=40)
        assert nxt.status_code == 200 and nxt.json()["href"] == run["href"]
    finally:
        a.delete(f"tasks/{task}")


def test_task_detail_as_the_original(nodes):
    """Posted without a start, a task shows the start it got; hints carry the requester only
    (on the lead and on the participant, which the lead reached from its own address)."""
    a, b = nodes
    require_program("iperf3")
    task = post_task(a, throughput(b), {"slip": "PT1M"})
    try:
        for node, requester in ((a, "127.0.0.1"), (b, a.host)):
            detail = node.get(f"tasks/{task}", params={"detail": ""}).json()["detail"]
            assert detail["start"] is not None and detail["start"] == detail["added"]
            assert detail["hints"] == {"requester": requester}, detail["hints"]
    finally:
        a.delete(f"tasks/{task}")


def test_hostname_is_the_hosts_name(nodes):
    for node in nodes:
        assert node.get("hostname").json() == socket.gethostname()


def test_placement_ending_too_close_to_the_start_is_undone_everywhere(nodes, monkeypatch):
    """Every participant must hold the full participant data (iperf3's port and credentials)
    before the run starts, or it runs without them.  A placement whose distribution ends too
    close to the start is undone on every node, as a conflict the scheduler retries later."""
    from pscheduler.db import Database
    from pscheduler.scheduling import coplace

    a, b = nodes
    require_program("iperf3")
    task = post_task(a, throughput(b), {"start": "PT1H"})
    db = Database(a.dsn, maxconn=2)
    try:
        placed = first_run(a, task)["href"]  # the scheduler's own run, an hour ahead
        row = db.one("task_by_uuid", {"uuid": task})
        attempt = coplace._Attempt(db, db.one("multi_task", {"id": row["id"]}), a.host)
        # Any start is "too close" with this margin: the attempt must get all the way through
        # the distribution and then be undone.
        monkeypatch.setattr(coplace, "TOLD_BEFORE", dt.timedelta(hours=2))
        with pytest.raises(coplace._Failed) as failed:
            attempt.put_everywhere(utcnow() + dt.timedelta(seconds=30))
        assert failed.value.conflict and "too close to its start" in failed.value.reason
        for node in (a, b):
            assert [r["href"].rsplit("/", 1)[1] for r in runs_of(node, task)] == [
                placed.rsplit("/", 1)[1]
            ], node.host
    finally:
        db.close()
        a.delete(f"tasks/{task}")
