"""Hole 6: the Host header is reflected only when it names this node."""

from __future__ import annotations

from tests.interfaces._util import root

TASK = {"schema": 1, "test": {"type": "noop", "spec": {"schema": 1}}, "schedule": {}}


def test_foreign_host_header_gives_hrefs_with_the_configured_name(node):
    evil = {"Host": "evil.example:4443"}
    own = f"https://{node.address}/pscheduler/tasks/"
    created = node.post("tasks", json=TASK, headers=evil)
    assert created.status_code == 200 and created.json().startswith(own), created.text
    listed = node.get("tasks", headers=evil).json()
    assert listed and all(href.startswith(own) for href in listed)
    run = node.get(created.json().split("/pscheduler/", 1)[1] + "/runs/first?wait=30", headers=evil)
    assert "evil" not in run.text
    made = node.session.post(root(node) + "/m1/workflow/create/", headers=evil, timeout=10)
    assert made.headers["Location"].startswith(f"https://{node.address}/m1/workflow/")


def test_host_header_naming_the_node_is_kept(node):
    own = {"Host": f"localhost:{node.port}"}
    created = node.post("tasks", json=TASK, headers=own)
    assert created.json().startswith(f"https://localhost:{node.port}/pscheduler/tasks/")
    other_port = node.post("tasks", json=TASK, headers={"Host": f"localhost:{node.port + 1}"})
    assert other_port.json().startswith(f"https://{node.address}/")
