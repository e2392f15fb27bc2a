"""Helpers for the multi-node tests: posting tasks, waiting for runs, reading timelines."""

from __future__ import annotations

import datetime as dt

from pscheduler.toolkit.iso8601 import parse_timestamp
from tests.helpers import Node, wait_for

ACTIVE = ("scheduling", "pending", "on-deck", "running", "cleanup", "finished", "failed", "overdue")


def post_task(node: Node, test: dict, schedule: dict | None = None, **extra) -> str:
    body = {"schema": 1, "test": test, "schedule": schedule or {}, **extra}
    response = node.post("tasks", json=body)
    assert response.status_code == 200, response.text
    return response.json().rsplit("/", 1)[1]


def first_run(node: Node, task: str, wait: int = 20) -> dict:
    response = node.get(f"tasks/{task}/runs/first", params={"wait": wait}, timeout=wait + 10)
    assert response.status_code == 200, (
        f"{response.status_code} {response.text}\n{node.log()[-3000:]}"
    )
    return response.json()


def run_uuid(run: dict) -> str:
    return run["href"].rsplit("/", 1)[1]


def merged(node: Node, task: str, run: str, wait: int = 40) -> dict:
    response = node.get(
        f"tasks/{task}/runs/{run}", params={"wait-merged": "true", "wait": wait}, timeout=wait + 10
    )
    assert response.status_code == 200, response.text
    return response.json()


def runs_of(node: Node, task: str) -> list[dict]:
    urls = node.get(f"tasks/{task}/runs").json()
    return [node.get(f"tasks/{task}/runs/{u.rsplit('/', 1)[1]}").json() for u in urls]


def wait_runs(node: Node, task: str, predicate, timeout: float, what: str) -> list[dict]:
    def check():
        found = runs_of(node, task)
        return found if predicate(found) else None

    return wait_for(check, timeout=timeout, interval=0.3, what=what)


def timeline(node: Node) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """(start, end, href) of every run holding time on the node's timeline."""
    rows = node.get("schedule").json()
    return [
        (parse_timestamp(r["start-time"]), parse_timestamp(r["end-time"]), r["href"])
        for r in rows
        if r["state"] in ACTIVE and r["task"]["test"]["type"] == "throughput"
    ]


def overlaps(spans: list[tuple[dt.datetime, dt.datetime, str]]) -> list[tuple[str, str]]:
    spans = sorted(spans)
    return [
        (a[2], b[2])
        for i, a in enumerate(spans)
        for b in spans[i + 1 :]
        if b[0] < a[1] and a[0] < b[1]
    ]
