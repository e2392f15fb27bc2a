"""Helpers of the open-interface tests: tasks through the real API, clients on 127.0.0.2."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

from tests.helpers import Node, wait_for

FINAL = ("finished", "failed", "missed", "overdue", "nonstart", "preempted", "canceled")


def root(node: Node) -> str:
    """``https://host:port`` of a node (the monitor lives at /m1/, beside /pscheduler/)."""
    return node.base.removesuffix("/pscheduler")


def post_task(node: Node, test: str, spec: dict, schedule: dict | None = None, session=None) -> str:
    """Creates a task through POST /pscheduler/tasks; returns its UUID.

    The default schedule is "soonest" with a minute of slip: without slip a loaded machine
    can make the scheduler see the ideal start as past and skip the only run.
    """
    session = session or node.session
    body = {"schema": 1, "test": {"type": test, "spec": {"schema": 1, **spec}}}
    body["schedule"] = schedule if schedule is not None else {"slip": "PT1M"}
    r = session.post(node.url("tasks"), json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json().rsplit("/", 1)[1]


def wait_run_final(node: Node, task: str, timeout: float = 30.0) -> dict:
    """The first run of ``task`` once it reached a final state."""

    def final():
        r = node.get(f"tasks/{task}/runs/first")
        if r.status_code != 200:
            return False
        run = r.json()
        return run if run.get("state") in FINAL else False

    return wait_for(final, timeout=timeout, interval=0.1, what=f"a final run of {task}")


class _SourceAdapter(HTTPAdapter):
    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        return super().init_poolmanager(*args, **kwargs)


def session_from(source: str) -> requests.Session:
    """A session whose connections come from ``source`` (e.g. 127.0.0.2, not a host address)."""
    s = requests.Session()
    s.verify = False
    s.trust_env = False
    s.mount("https://", _SourceAdapter(source))
    s.mount("http://", _SourceAdapter(source))
    return s
