"""The access-key rule (pscheduler.tasks.access) on every kind of task copy.

Lead copies on A (127.0.0.2), participant copies on B (127.0.0.3); the task is created by a
client on 127.0.0.7 and probed by that client and by a stranger on 127.0.0.8 (neither is an
address of this host, so neither is privileged).  For each copy × with/without ``_key`` ×
no/right/wrong key: reading the task, reading its run, and a write (DELETE of an unknown
run: 404 once access is granted, 403 before).
"""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import require_program, wait_for
from tests.interfaces._util import session_from
from tests.multi.common import run_uuid
from tests.tasks.util import sql

CREATOR = "127.0.0.7"
STRANGER = "127.0.0.8"
SECRET = "user-s3cret"


def _create(lead, test: dict, with_key: bool) -> str:
    body = {
        "schema": 1,
        "test": test,
        "schedule": {"start": "PT20M"},  # placed now, never run during the test
        "reference": {"_hidden": "shh"},
    }
    if with_key:
        body["_key"] = SECRET
    r = session_from(CREATOR).post(lead.url("tasks"), json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json().rsplit("/", 1)[1]


def _first_run(node, task: str) -> str:
    r = node.get(f"tasks/{task}/runs/first", params={"wait": 30}, timeout=40)
    assert r.status_code == 200, r.text
    return run_uuid(r.json())


def _stored_key(node, task: str) -> str:
    rows = sql(node, "SELECT participant_key FROM task WHERE uuid = %s", (task,))
    assert rows and rows[0]["participant_key"], rows
    return rows[0]["participant_key"]


def _probe(node, task: str, run: str, source: str, key: str | None) -> tuple:
    """(task status, whether the task was shown whole, run status, write status)."""
    s = session_from(source)
    params = {"key": key} if key is not None else {}
    t = s.get(node.url(f"tasks/{task}"), params=params, timeout=10)
    whole = t.status_code == 200 and t.json()["reference"]["_hidden"] == "shh"
    r = s.get(node.url(f"tasks/{task}/runs/{run}"), params=params, timeout=10)
    w = s.delete(node.url(f"tasks/{task}/runs/{uuid.uuid4()}"), params=params, timeout=10)
    return t.status_code, whole, r.status_code, w.status_code


SANITISED, WHOLE, REFUSED = (200, False, 200), (200, True, 200), (403, False, 403)
ALLOWED, FORBIDDEN = 404, 403  # DELETE of an unknown run once past the access check


def _expect(read: tuple, write: int) -> tuple:
    return (*read, write)


def _check(node, task: str, run: str, right: str | None) -> None:
    wrong = "not-the-key"
    if right is None:
        # No key on this copy: reads are sanitised whatever key is sent, writes go by address.
        assert _probe(node, task, run, STRANGER, None) == _expect(SANITISED, FORBIDDEN)
        assert _probe(node, task, run, STRANGER, wrong) == _expect(SANITISED, FORBIDDEN)
        assert _probe(node, task, run, CREATOR, None) == _expect(SANITISED, ALLOWED)
        assert _probe(node, task, run, CREATOR, wrong) == _expect(SANITISED, ALLOWED)
        return
    assert _probe(node, task, run, STRANGER, None) == _expect(SANITISED, FORBIDDEN)
    assert _probe(node, task, run, STRANGER, wrong) == _expect(REFUSED, FORBIDDEN)
    assert _probe(node, task, run, STRANGER, right) == _expect(WHOLE, ALLOWED)
    # The address that created the task may write without the key, but reads no secrets.
    assert _probe(node, task, run, CREATOR, None) == _expect(SANITISED, ALLOWED)
    assert _probe(node, task, run, CREATOR, wrong) == _expect(REFUSED, ALLOWED)
    assert _probe(node, task, run, CREATOR, right) == _expect(WHOLE, ALLOWED)


@pytest.mark.parametrize("with_key", [False, True], ids=["no-_key", "_key"])
def test_single_participant_lead(nodes, with_key):
    a, _ = nodes
    task = _create(a, {"type": "idle", "spec": {"duration": "PT1S"}}, with_key)
    run = _first_run(a, task)
    _check(a, task, run, SECRET if with_key else None)
    cancel = session_from(STRANGER).delete(
        a.url(f"tasks/{task}"), params={"key": SECRET} if with_key else {}, timeout=10
    )
    assert cancel.status_code == (200 if with_key else 403)
    if not with_key:
        assert session_from(CREATOR).delete(a.url(f"tasks/{task}"), timeout=10).status_code == 200


@pytest.mark.parametrize("with_key", [False, True], ids=["no-_key", "_key"])
def test_multi_participant_lead_and_participant(nodes, with_key):
    a, b = nodes
    require_program("iperf3")  # a throughput task has two participants; it never runs here
    spec = {"schema": 3, "duration": "PT1S", "dest": b.host, "dest-node": b.address}
    task = _create(a, {"type": "throughput", "spec": spec}, with_key)
    run = _first_run(a, task)
    key = _stored_key(a, task)  # generated and never shown when the creator gave no _key
    assert (key == SECRET) == with_key
    assert _stored_key(b, task) == key  # the participant keeps the lead's key

    _check(a, task, run, key)  # the lead's copy
    there = _first_run(b, task)
    assert there == run
    # The participant's copy: same key; its creator (requester) is the lead, not the client.
    s = session_from(STRANGER)
    assert _probe(b, task, run, STRANGER, None) == _expect(SANITISED, FORBIDDEN)
    assert _probe(b, task, run, STRANGER, "not-the-key") == _expect(REFUSED, FORBIDDEN)
    assert _probe(b, task, run, STRANGER, key) == _expect(WHOLE, ALLOWED)
    assert _probe(b, task, run, a.host, None) == _expect(SANITISED, ALLOWED)  # the lead
    # Cancelling on the lead with the key reaches the participant (the lead sends the key).
    assert s.delete(a.url(f"tasks/{task}"), params={"key": key}, timeout=10).status_code == 200
    wait_for(
        lambda: b.get(f"tasks/{task}", params={"detail": "1"}).json()["detail"]["enabled"] is False,
        timeout=20,
        what="the participant's copy to be cancelled by the lead",
    )
