"""What a real node answers matches the closed component schemas of its own OpenAPI document.

A task (with detail), a run with archivings, /status, /schedule, /monitor and the rest are
fetched from a live node and validated with jsonschema against ``components.schemas`` of the
served document; each is then shown to fail once a member is renamed, so a field renamed in
pscheduler/wire.py (or node/status.py, scheduling/view.py) without its schema fails here.
"""

from __future__ import annotations

import copy

import jsonschema
import pytest

from tests.archiving._helpers import noop_task, post_and_finish, wait_archivings

_ARCHIVES = [
    {"archiver": "bitbucket", "data": {}, "label": "kept"},
    {"archiver": "failer", "data": {"fail": 1.0, "retry": 0.0}, "label": "refused"},
]


@pytest.fixture(scope="module")
def components(node) -> dict:
    answer = node.get("openapi.json")
    assert answer.status_code == 200, answer.text
    return answer.json()["components"]


def _validator(components: dict, schema: dict):
    root = {**schema, "components": components}
    return jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _check(components: dict, name: str, value) -> None:
    """``value`` is valid against component ``name``, and invalid with a member renamed or
    an unknown member added (the schema is closed)."""
    validator = _validator(components, {"$ref": f"#/components/schemas/{name}"})
    errors = [e.message for e in validator.iter_errors(value)]
    assert not errors, f"{name}: {errors}"
    first = next(iter(value))
    renamed = {(k + "-renamed" if k == first else k): v for k, v in value.items()}
    assert not validator.is_valid(renamed), f"{name} accepts {first!r} renamed"
    assert not validator.is_valid({**value, "unknown-member": 1}), f"{name} is open"


def _check_all(components: dict, name: str, values: list) -> None:
    assert values, f"nothing to check against {name}"
    for value in values:
        _check(components, name, value)


@pytest.fixture(scope="module")
def archived(node) -> tuple[str, dict]:
    """(task URL, run) of a finished noop run whose two archivings are done."""
    run = post_and_finish(node, noop_task(copy.deepcopy(_ARCHIVES)))
    wait_archivings(node, run["href"], 2)
    return run["task-href"], node.session.get(run["href"], timeout=30).json()


def test_task_and_its_detail(node, components, archived):
    task_href, _ = archived
    task = node.session.get(task_href, params={"detail": ""}, timeout=30).json()
    assert "detail" in task
    _check(components, "Task", task)
    _check(components, "TaskDetail", task["detail"])
    bare = node.session.get(task_href, timeout=30).json()
    assert "detail" not in bare
    _check(components, "Task", bare)
    listed = node.get("tasks", params={"expanded": "", "detail": ""}).json()
    _check_all(components, "Task", [t for t in listed if t["href"] == task_href])


def test_run_with_archivings(components, archived):
    _, run = archived
    assert len(run["archivings"]) == 2
    _check(components, "Run", run)
    _check_all(components, "Archiving", run["archivings"])
    refused = next(a for a in run["archivings"] if a["spec"]["label"] == "refused")
    _check_all(components, "ArchivingDiag", refused["diags"])


def test_schedule_and_monitor_entries(node, components, archived):
    task_href, _ = archived
    task = task_href.rsplit("/", 1)[1]
    _check_all(components, "ScheduleEntry", node.get("schedule", params={"task": task}).json())
    _check_all(components, "MonitorEntry", node.get("monitor", params={"window": 5}).json())


def test_node_status_clock_and_pause_state(node, components):
    status = node.get("status").json()
    _check(components, "NodeStatus", status)
    for name, service in status["services"].items():
        validator = _validator(components, components["schemas"]["NodeStatus"])
        assert validator.is_valid({**status, "services": {name: service}})
        assert not validator.is_valid({**status, "services": {name: {**service, "pid": 1}}})
    _check(components, "Clock", node.get("clock").json())
    _check(components, "PauseState", node.get("stat/control/pause").json())


def test_monitor_jobs_of_a_task(node, components, archived):
    task = archived[0].rsplit("/", 1)[1]
    jobs = node.session.get(
        node.base.removesuffix("/pscheduler") + f"/m1/workflow/{task}/jobs", timeout=30
    ).json()
    _check(components, "MonitorJobs", jobs)
    _check_all(components, "MonitorJob", jobs["jobs"])


def test_a_result_full_that_is_not_a_list_is_refused(node, archived):
    """Stored as is, it would show in the run against the Run schema."""
    _, run = archived
    answer = node.session.put(run["href"], json={"result-full": "x", "succeeded": True}, timeout=30)
    assert answer.status_code == 400, answer.text
    assert "result-full must be a list" in answer.text
