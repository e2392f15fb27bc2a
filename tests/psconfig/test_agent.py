"""The agent on real nodes (127.0.0.2 and 127.0.0.3): a remote template on one, a psconfig.d
file on the other; tasks appear on their leads, stay identical, follow template edits, survive
the template server going away, and tasks posted by people are never touched."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import SERVER, wait_for
from tests.psconfig.served import TemplateServer


def template_for(a, b) -> dict:
    return {
        "addresses": {
            "a": {"address": a.host, "pscheduler-address": a.address},
            "b": {"address": b.host, "pscheduler-address": b.address},
        },
        "groups": {"ab": {"type": "mesh", "addresses": [{"name": "a"}, {"name": "b"}]}},
        "tests": {
            "rtt": {
                "type": "rtt",
                "spec": {"source": "{% address[0] %}", "dest": "{% address[1] %}", "count": 1},
            }
        },
        "schedules": {"hourly": {"repeat": "PT1H", "slip": "PT5M"}},
        "tasks": {
            "mesh-rtt": {
                "group": "ab",
                "test": "rtt",
                "schedule": "hourly",
                "reference": {"mesh": "test"},
            }
        },
    }


def agent_tasks(node) -> list[dict]:
    query = {
        "reference": {"psconfig": {"created-by": {"agent": node.host}}},
        "detail": {"enabled": True, "participant": 0},
    }
    r = node.get("tasks", params={"expanded": "1", "detail": "1", "json": json.dumps(query)})
    assert r.status_code == 200, r.text
    return r.json()


def cycles(node) -> str | None:
    return (node.get("status").json().get("psconfig") or {}).get("last-cycle")


def server_cli(node, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SERVER, "--state-dir", node.state_dir, "--dsn", node.dsn, "psconfig", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def pair(make_node):
    a = make_node(host="127.0.0.2")
    b = make_node(host="127.0.0.3")
    return a, b


def test_agent_keeps_tasks_in_line_with_the_template(pair):
    a, b = pair
    template = template_for(a, b)
    served = TemplateServer(template)
    try:
        # A follows the remote template and checks it every 2 s; B reads psconfig.d only.
        Path(a.state_dir, "psconfig-agent.json").write_text(json.dumps({"interval": "PT2S"}))
        added = server_cli(a, "remote", "add", served.url)
        assert added.returncode == 0, added.stderr
        assert json.loads(server_cli(a, "remote", "list").stdout)[0]["url"] == served.url
        Path(b.state_dir, "psconfig.d").mkdir()
        Path(b.state_dir, "psconfig.d", "mesh.json").write_text(json.dumps(template))

        on_a = wait_for(lambda: agent_tasks(a), timeout=60, what="A's agent posts its task")
        on_b = wait_for(lambda: agent_tasks(b), timeout=60, what="B's agent posts its task")
        assert len(on_a) == 1 and len(on_b) == 1
        spec = on_a[0]["test"]["spec"]
        assert (spec["source"], spec["dest"]) == (a.host, b.host)
        assert on_a[0]["reference"]["mesh"] == "test"
        assert on_a[0]["schedule"]["until"]  # renewed before it ends
        assert on_a[0].get("_key") is None  # the key stays with the agent
        assert (on_b[0]["test"]["spec"]["source"]) == b.host

        # A task posted by a person is never touched.
        manual = a.post(
            "tasks",
            json={
                "schema": 1,
                "test": {"type": "rtt", "spec": {"dest": b.host, "count": 1}},
                "schedule": {"repeat": "PT1H"},
                "reference": {"psconfig": {"created-by": {"agent": "someone-else"}}},
            },
        )
        assert manual.status_code == 200, manual.text

        # Identical tasks are kept across cycles.
        first = cycles(a)
        wait_for(lambda: cycles(a) != first, timeout=30, what="another cycle on A")
        assert [t["href"] for t in agent_tasks(a)] == [t["href"] for t in on_a]
        stats = json.loads(server_cli(a, "stats").stdout)
        assert stats["tasks"]["kept"] == 1 and stats["tasks"]["created"] == 0
        assert stats["templates"][0] == {
            "source": served.url,
            "ok": True,
            "stale": False,
            "error": None,
            "warnings": [],
        }

        # An edit: the task's test changes -> a new task replaces the old one.
        edited = copy.deepcopy(template)
        edited["tests"]["rtt"]["spec"]["count"] = 2
        served.template = edited

        def replaced():
            tasks = agent_tasks(a)
            return len(tasks) == 1 and tasks[0]["test"]["spec"]["count"] == 2 and tasks

        new = wait_for(replaced, timeout=30, what="A follows the edit")
        assert new[0]["href"] != on_a[0]["href"]
        old = a.get(on_a[0]["href"].split("/pscheduler/", 1)[1], params={"detail": "1"})
        assert old.json()["detail"]["enabled"] is False

        # The template server goes away: the last good copy keeps the tasks.
        served.broken = True
        fetched = served.fetches
        wait_for(lambda: served.fetches > fetched + 1, timeout=30, what="a failed fetch")
        wait_for(
            lambda: a.get("status").json()["psconfig"]["templates"][0]["stale"],
            timeout=30,
            what="stale template reported",
        )
        state = a.get("status").json()["psconfig"]
        assert "503" in state["templates"][0]["error"]
        assert [t["href"] for t in agent_tasks(a)] == [t["href"] for t in new]

        # B: a file edit wakes the agent at once (its interval is an hour); dropping the task
        # from the template deletes it, and only it.
        empty = copy.deepcopy(template)
        empty["tasks"]["mesh-rtt"]["disabled"] = True
        Path(b.state_dir, "psconfig.d", "mesh.json").write_text(json.dumps(empty))
        wait_for(lambda: agent_tasks(b) == [], timeout=30, what="B deletes its task")
        # The cycle stores its report after its deletions: the task can be gone first.
        wait_for(
            lambda: b.get("status").json()["psconfig"]["tasks"]["deleted"] == 1,
            timeout=30,
            what="B's report counts the deletion",
        )

        # The person's task on A is still there and enabled.
        mine = a.get(manual.json().split("/pscheduler/", 1)[1], params={"detail": "1"})
        assert mine.json()["detail"]["enabled"] is True
    finally:
        served.close()


def test_agent_renews_tasks_before_they_end(make_node):
    """With a 20 s task lifetime the agent posts a replacement once less than 10 s remain and
    deletes the old task; the replacement ends later."""
    a = make_node(host="127.0.0.2")
    template = template_for(a, a)
    template["groups"]["ab"] = {"type": "list", "addresses": [{"name": "a"}]}
    template["tests"]["rtt"]["spec"] = {"dest": "{% address[0] %}", "count": 1}
    settings = {"interval": "PT2S", "task-ttl": "PT20S"}
    Path(a.state_dir, "psconfig-agent.json").write_text(json.dumps(settings))
    Path(a.state_dir, "psconfig.d").mkdir()
    Path(a.state_dir, "psconfig.d", "one.json").write_text(json.dumps(template))
    (first,) = wait_for(lambda: agent_tasks(a), timeout=60, what="the agent posts its task")

    def renewed():
        tasks = agent_tasks(a)
        return len(tasks) == 1 and tasks[0]["href"] != first["href"] and tasks

    (second,) = wait_for(renewed, timeout=40, interval=0.5, what="a renewal")
    assert second["schedule"]["until"] > first["schedule"]["until"]
    old = a.get(first["href"].split("/pscheduler/", 1)[1], params={"detail": "1"})
    assert old.json()["detail"]["enabled"] is False
    assert a.get("status").json()["psconfig"]["tasks"]["renewed"] >= 1
