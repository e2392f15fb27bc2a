"""Helpers for task tests: post a task, read its runs, times."""

from __future__ import annotations

import datetime as dt

import psycopg2
import psycopg2.extras

from pscheduler.toolkit.iso8601 import format_timestamp, parse_timestamp


def iso(when: dt.datetime) -> str:
    return format_timestamp(when)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def post_task(node, task: dict, expect: int = 200) -> str:
    r = node.post("tasks", json=task)
    assert r.status_code == expect, r.text
    return r.json() if expect == 200 else r.text


def idle(duration: str = "PT1S", test: str = "idle", **schedule) -> dict:
    return {
        "schema": 2 if "repeat-cron" in schedule else 1,
        "test": {"type": test, "spec": {"duration": duration}},
        "schedule": {"schema": 2, **schedule} if "repeat-cron" in schedule else schedule,
    }


def runs(node, task_url: str) -> list[dict]:
    """Every run of the task, via the API, in time order."""
    urls = node.session.get(task_url + "/runs", timeout=10).json()
    return [node.session.get(u, timeout=10).json() for u in urls]


def run_times(node, task_url: str) -> list[tuple[dt.datetime, dt.datetime, str]]:
    return [
        (parse_timestamp(r["start-time"]), parse_timestamp(r["end-time"]), r["state"])
        for r in runs(node, task_url)
    ]


def sql(node, text: str, params=None) -> list[dict]:
    conn = psycopg2.connect(node.dsn)
    try:
        with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(text, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()
