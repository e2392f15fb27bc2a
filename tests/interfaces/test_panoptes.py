"""The Panoptes monitor API at /m1/ (spec/panoptes.md), against a real node."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from pscheduler.toolkit.iso8601 import format_timestamp
from tests.helpers import admin_token
from tests.interfaces._util import post_task, root, wait_run_final

SPEC_STATUSES = {"running", "pending", "error", "cancelled", "completed"}
WORKFLOW_KEYS = {"id", "name", "status", "started_at", "completed_at", "jobs_total", "jobs_done"}
JOB_KEYS = {
    "jobid",
    "workflow_id",
    "name",
    "input",
    "output",
    "status",
    "started_at",
    "completed_at",
    "log",
}


@pytest.fixture
def m1(node):
    """(session, base URL of the monitor) for the shared node."""
    return node.session, root(node) + "/m1"


def _errors(response) -> list:
    body = response.json()
    assert isinstance(body["errors"], list) and body["errors"], body
    for err in body["errors"]:
        assert {"code", "message", "detail"} <= set(err)
        assert err["code"] == response.status_code
    return body["errors"]


def test_service_info_and_statuses_with_and_without_trailing_slash(m1):
    s, base = m1
    for url in (base + "/", base):
        r = s.get(url, timeout=10)
        assert r.status_code == 200
        info = r.json()
        assert info["status"] == "running"
        assert isinstance(info["version"], str) and info["version"]
    for url in (base + "/statuses/", base + "/statuses"):
        body = s.get(url, timeout=10).json()
        names = {item["name"] for item in body["statuses"]}
        assert SPEC_STATUSES <= names
        assert all(item["description"] for item in body["statuses"])
        # Every run state of ours is described by exactly one spec status.
        mapped = [st for item in body["statuses"] for st in item["run_states"]]
        assert len(mapped) == len(set(mapped))
        assert {"pending", "on-deck", "running", "finished", "failed", "canceled"} <= set(mapped)


def test_reported_workflow_walks_every_endpoint_of_the_spec(m1):
    s, base = m1
    # Create: the table says GET, the text says POST; both answer 201 with an id.
    r = s.get(base + "/workflow/create/", timeout=10)
    assert r.status_code == 201
    via_get = r.json()["id"]
    r = s.post(base + "/workflow/create/", json={"name": "align reads"}, timeout=10)
    assert r.status_code == 201
    wid = r.json()["id"]
    assert r.headers["Location"].endswith(f"/m1/workflow/{wid}/")
    assert via_get != wid

    r = s.get(base + f"/workflow/{wid}/", timeout=10)
    assert r.status_code == 200
    item = r.json()["workflow"]
    assert WORKFLOW_KEYS <= set(item)
    assert (item["name"], item["status"], item["jobs_total"]) == ("align reads", "pending", 0)

    # Update: the table says POST, the text says PUT; both answer 202.
    first = {
        "message": {
            "jobid": 1,
            "level": "job_info",
            "name": "bwa",
            "input": ["a.fq"],
            "output": ["a.bam"],
            "wildcards": {"sample": "a"},
        },
        "timestamp": "2020-12-15 11:43:24.811860",
        "id": wid,
    }
    assert s.post(base + f"/workflow/{wid}/", json=first, timeout=10).status_code == 202
    second = {
        "message": {"jobid": 2, "level": "job_info", "name": "bwa", "is_checkpoint": True},
        "timestamp": "2020-12-15T11:43:30+00:00",
    }
    assert s.put(base + f"/workflow/{wid}", json=second, timeout=10).status_code == 202
    item = s.get(base + f"/workflow/{wid}/", timeout=10).json()["workflow"]
    assert (item["status"], item["jobs_total"], item["jobs_done"]) == ("running", 2, 0)
    assert item["started_at"] == "2020-12-15T11:43:24+00:00"

    jobs = s.get(base + f"/workflow/{wid}/jobs/", timeout=10).json()
    assert jobs["count"] == 2 and len(jobs["jobs"]) == 2
    for job in jobs["jobs"]:
        assert JOB_KEYS <= set(job)
        assert job["workflow_id"] == wid and job["status"] == "running"
    one = s.get(base + f"/workflow/{wid}/job/1/", timeout=10).json()
    assert one["count"] == 1
    job = one["jobs"][0]
    assert job["jobid"] == 1  # as the client sent it
    assert (job["input"], job["output"], job["wildcards"]) == (["a.fq"], ["a.bam"], {"sample": "a"})
    assert s.get(base + f"/workflow/{wid}/job/2", timeout=10).json()["jobs"][0]["is_checkpoint"]

    # A running workflow may not be deleted.
    r = s.delete(base + f"/workflow/{wid}/", timeout=10)
    assert r.status_code == 403
    _errors(r)

    # Jobs end: one finishes, one fails; the workflow is then in error.
    for jobid, level in ((1, "job_finished"), (2, "job_error")):
        msg = {"message": {"jobid": jobid, "level": level}, "timestamp": "Tue Dec 15 11:50:00 2020"}
        assert s.put(base + f"/workflow/{wid}/", json=msg, timeout=10).status_code == 202
    item = s.get(base + f"/workflow/{wid}/", timeout=10).json()["workflow"]
    assert (item["status"], item["jobs_done"]) == ("error", 2)
    assert item["completed_at"] == "2020-12-15T11:50:00+00:00"
    job = s.get(base + f"/workflow/{wid}/job/1/", timeout=10).json()["jobs"][0]
    assert (job["status"], job["name"]) == ("completed", "bwa")  # the name was kept

    # Rename: 200 with the updated workflow; 400 for an empty or malformed body.
    r = s.put(base + f"/workflow/{wid}/", json={"name": "align all reads"}, timeout=10)
    assert r.status_code == 200
    assert r.json()["workflow"]["name"] == "align all reads"
    for bad in (b"", b"{not json", b'{"name": ""}', b"{}"):
        r = s.put(base + f"/workflow/{wid}/", data=bad, timeout=10)
        assert r.status_code == 400, bad
        _errors(r)

    listed = s.get(base + "/workflows/", timeout=10).json()
    assert listed["count"] == len(listed["workflows"])
    assert {wid, via_get} <= {w["id"] for w in listed["workflows"]}

    # Delete: 204, then 404.
    assert s.delete(base + f"/workflow/{wid}/", timeout=10).status_code == 204
    r = s.get(base + f"/workflow/{wid}/", timeout=10)
    assert r.status_code == 404
    _errors(r)
    assert s.delete(base + f"/workflow/{wid}/", timeout=10).status_code == 404


def test_bad_updates_and_unknown_things_answer_in_the_errors_shape(m1):
    s, base = m1
    wid = s.post(base + "/workflow/create/", timeout=10).json()["id"]
    cases = [
        ({"message": {"level": "job_info"}}, 400),  # no jobid
        ({"message": {"jobid": 1, "status": "exploded"}}, 400),
        ({"message": {"jobid": 1}, "timestamp": "yesterday-ish"}, 400),
        ({"message": {"jobid": 1}, "id": str(uuid.uuid4())}, 400),
        ({"message": "not an object"}, 400),
    ]
    for body, status in cases:
        r = s.post(base + f"/workflow/{wid}/", json=body, timeout=10)
        assert r.status_code == status, (body, r.text)
        _errors(r)
    for url in (
        base + f"/workflow/{uuid.uuid4()}/",
        base + "/workflow/not-a-uuid/",
        base + f"/workflow/{wid}/job/99/",
        base + "/no-such-endpoint",
    ):
        r = s.get(url, timeout=10)
        assert r.status_code == 404, url
        _errors(r)
    r = s.patch(base + f"/workflow/{wid}/", json={}, timeout=10)
    assert r.status_code == 405
    _errors(r)
    # PostgreSQL cannot store NUL in text: a 400, not a 500 (found by schemathesis)
    r = s.get(base + "/workflow/create/", params={"name": "a\x00b"}, timeout=10)
    assert r.status_code == 400 and "NUL" in _errors(r)[0]["message"], r.text
    r = s.put(base + f"/workflow/{wid}/", json={"name": "a\x00b"}, timeout=10)
    assert r.status_code == 400 and "NUL" in _errors(r)[0]["message"], r.text


def test_progress_messages_complete_a_workflow(m1):
    s, base = m1
    wid = s.post(base + "/workflow/create/", json={"name": "progress"}, timeout=10).json()["id"]
    for done in (0, 1, 2):
        msg = {"message": {"level": "progress", "done": done, "total": 2}}
        assert s.post(base + f"/workflow/{wid}/", json=msg, timeout=10).status_code == 202
        item = s.get(base + f"/workflow/{wid}/", timeout=10).json()["workflow"]
        assert (item["jobs_done"], item["jobs_total"]) == (done, 2)
        assert item["status"] == (
            "completed" if done == 2 else "pending" if done == 0 else "running"
        )


def test_a_task_is_a_workflow_and_its_runs_are_jobs(node, m1):
    s, base = m1
    ok_task = post_task(node, "idle", {"duration": "PT1S"})
    failing = post_task(node, "noop", {"fail": 1.0})
    later = post_task(node, "idle", {"duration": "PT1S"}, {"start": "PT2H"})
    run = wait_run_final(node, ok_task)
    wait_run_final(node, failing)

    item = s.get(base + f"/workflow/{ok_task}/", timeout=10).json()["workflow"]
    assert item["status"] == "completed"
    assert (item["jobs_total"], item["jobs_done"]) == (1, 1)
    assert item["started_at"] and item["completed_at"]
    assert s.get(base + f"/workflow/{failing}/", timeout=10).json()["workflow"]["status"] == "error"
    pending = s.get(base + f"/workflow/{later}/", timeout=10).json()["workflow"]
    assert (pending["status"], pending["completed_at"]) == ("pending", None)

    jobs = s.get(base + f"/workflow/{ok_task}/jobs/", timeout=10).json()
    assert jobs["count"] == 1
    job = jobs["jobs"][0]
    assert JOB_KEYS <= set(job)
    assert (job["workflow_id"], job["status"], job["state"]) == (ok_task, "completed", "finished")
    run_uuid = job["jobid"]
    assert run["start-time"] == job["name"].rsplit(" ", 1)[1]
    assert job["output"] == [f"{node.base}/tasks/{ok_task}/runs/{run_uuid}/result"]
    one = s.get(base + f"/workflow/{ok_task}/job/{run_uuid}/", timeout=10).json()
    assert one == {"jobs": [job], "count": 1}
    assert s.get(base + f"/workflow/{failing}/jobs/", timeout=10).json()["jobs"][0]["log"]

    ids = {w["id"] for w in s.get(base + "/workflows", timeout=10).json()["workflows"]}
    assert {ok_task, failing, later} <= ids

    # Tasks are managed through /pscheduler/tasks, not by monitor clients.
    assert s.delete(base + f"/workflow/{ok_task}/", timeout=10).status_code == 403
    assert s.put(base + f"/workflow/{ok_task}/", json={"name": "x"}, timeout=10).status_code == 403
    update = {"message": {"jobid": 1, "level": "job_info"}}
    assert s.post(base + f"/workflow/{ok_task}/", json=update, timeout=10).status_code == 403

    # Cancelling the pending task makes its workflow cancelled.
    assert node.delete(f"tasks/{later}").status_code == 200
    item = s.get(base + f"/workflow/{later}/", timeout=10).json()["workflow"]
    assert item["status"] == "cancelled"
    if item["jobs_total"]:  # its run was placed, then cancelled: it ended, not in the future
        assert item["completed_at"] <= format_timestamp(dt.datetime.now(dt.timezone.utc))


def test_deleting_every_reported_workflow_keeps_tasks_and_then_is_gone(make_node):
    n = make_node()
    s, base = n.session, root(n) + "/m1"
    task = post_task(n, "idle", {"duration": "PT1S"}, {"start": "PT2H"})
    for _ in range(2):
        s.post(base + "/workflow/create/", timeout=10)
    assert s.delete(base + "/workflows/", timeout=10).status_code == 403  # admin only
    s.headers["Authorization"] = f"Bearer {admin_token(n)}"
    r = s.delete(base + "/workflows/", timeout=10)
    assert r.status_code == 200
    assert r.json()["deleted"] == 2
    r = s.delete(base + "/workflows", timeout=10)
    assert r.status_code == 410
    _errors(r)
    listed = s.get(base + "/workflows/", timeout=10).json()
    assert [w["id"] for w in listed["workflows"]] == [task]
