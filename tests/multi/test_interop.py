"""What an original pScheduler host depends on, checked ours-to-ours (A 127.0.0.2, B 127.0.0.3).

Each test holds our answers to the shape the original expects (docs/interop.md): the original
is not installed here, so its contracts are written down as schemas and checks below.
"""

from __future__ import annotations

import re
import socket
import time

import jsonschema

from tests.helpers import require_program
from tests.multi.common import merged, post_task, run_uuid

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
