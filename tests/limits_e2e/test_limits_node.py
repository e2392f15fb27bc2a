"""The limit system in a running node: denials through POST /tasks and run placement, the
prioritizer, hot reload, and a broken file keeping the last good configuration."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.tasks.util import idle, post_task, runs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "limits"

ONLY_IDLE = {
    "schema": 3,
    "identifiers": [
        {"name": "everybody", "description": "Everybody", "type": "always", "data": {}}
    ],
    "classifiers": [
        {"name": "everybody", "description": "Everybody", "identifiers": ["everybody"]}
    ],
    "limits": [
        {
            "name": "idle-only",
            "description": "Only idle tests",
            "type": "test-type",
            "data": {"types": ["idle", "idleex"]},
        },
    ],
    "applications": [
        {
            "description": "Idle for everybody",
            "classifier": "everybody",
            "apply": [{"require": "all", "limits": ["idle-only"]}],
        }
    ],
    "priority": {"script": 'if .test.type == "idleex" then set(7; "exclusive idle") else . end'},
}


@pytest.fixture
def limited(make_node, tmp_path):
    path = tmp_path / "limits.conf"
    path.write_text(json.dumps(ONLY_IDLE))
    node = make_node(extra_args=["--limits", str(path)])
    node.limits_path = path
    return node


def test_denial_through_post_tasks_says_why(limited):
    r = limited.post("tasks", json={"test": {"type": "noop", "spec": {}}, "schedule": {}})
    assert r.status_code == 403
    assert r.text.startswith("Task forbidden by limits:\n")
    assert "everybody" in r.text and "idle-only" in r.text
    url = post_task(limited, idle())
    diags = limited.session.get(url, params={"detail": ""}, timeout=10).json()["detail"]["diags"]
    assert "idle-only" in diags


def test_limits_endpoint_evaluates_a_proposal(limited):
    r = limited.get(
        "limits", params={"proposal": json.dumps({"test": {"type": "noop", "spec": {}}})}
    )
    assert r.status_code == 200
    assert r.json()["passed"] is False and "idle-only" in r.json()["diags"]
    assert limited.get("limits").text == "No proposal provided\n"


def test_prioritizer_sets_run_priority(limited):
    url = post_task(limited, idle(test="idleex"))
    run = wait_for(lambda: runs(limited, url), what="run placed")[0]
    assert run["priority"] == 7
    assert run["limit-diags"]


def test_hot_reload_and_broken_file(limited):
    path = limited.limits_path
    assert (
        limited.post(
            "tasks", json={"test": {"type": "noop", "spec": {}}, "schedule": {}}
        ).status_code
        == 403
    )
    shutil.copy(EXAMPLES / "default.conf", path)
    os.utime(path, (time.time() + 5, time.time() + 5))
    wait_for(
        lambda: (
            limited.post(
                "tasks", json={"test": {"type": "noop", "spec": {}}, "schedule": {}}
            ).status_code
            == 200
        ),
        timeout=10,
        what="the new limits to take effect",
    )
    path.write_text("{ this is not json")
    os.utime(path, (time.time() + 10, time.time() + 10))
    status = wait_for(
        lambda: (lambda s: s if not s["ok"] else None)(limited.get("status").json()["limits"]),
        timeout=10,
        what="status to show the broken file",
    )
    assert "error" in status
    # The last good configuration (default.conf: noop allowed) keeps running.
    assert (
        limited.post(
            "tasks", json={"test": {"type": "noop", "spec": {}}, "schedule": {}}
        ).status_code
        == 200
    )


PAST_ONLY = {
    "schema": 1,
    "identifiers": [
        {"name": "everybody", "description": "Everybody", "type": "always", "data": {}}
    ],
    "classifiers": [
        {"name": "everybody", "description": "Everybody", "identifiers": ["everybody"]}
    ],
    "limits": [
        {
            "name": "in-2001",
            "description": "Runs only in 2001",
            "type": "run-daterange",
            "data": {"start": "2001-01-01T00:00:00Z", "end": "2002-01-01T00:00:00Z"},
        }
    ],
    "applications": [
        {
            "description": "Everybody",
            "classifier": "everybody",
            "apply": [{"require": "all", "limits": ["in-2001"]}],
        }
    ],
}


def test_run_placement_denial_becomes_a_nonstarter(make_node, tmp_path):
    """Time limits pass at submission (no run time yet) and are applied to each run."""
    path = tmp_path / "limits.conf"
    path.write_text(json.dumps(PAST_ONLY))
    node = make_node(extra_args=["--limits", str(path)])
    url = post_task(node, idle())
    run = wait_for(lambda: runs(node, url), what="the run to be placed")[0]
    assert run["state"] == "nonstart"
    assert run["errors"].startswith("Run forbidden by limits:")
    assert "in-2001" in run["errors"] and "Ranges do not match" in run["errors"]


def test_limit_diags_command(tmp_path):
    import subprocess

    from tests.helpers import SERVER

    path = tmp_path / "limits.conf"
    path.write_text(json.dumps(ONLY_IDLE))
    task = tmp_path / "task.json"
    task.write_text(json.dumps({"test": {"type": "noop", "spec": {}}, "schedule": {}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
    r = subprocess.run(
        [SERVER, "--limits", str(path), "limit-diags", str(task)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "idle-only" in r.stdout and "everybody" in r.stdout
