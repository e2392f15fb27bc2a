"""GET /tasks from each API process's kept copy: exact after every change (issue 14).

The list changes only when a task is added or deleted; a version row, bumped in the same
commit (migration 061), tells a process whether its copy is still the list."""

from __future__ import annotations

import psycopg2
import requests

from pscheduler.db import query
from tests.tasks.util import idle, post_task


def _lists(node, times: int = 8) -> list[list[str]]:
    """GET /tasks on fresh connections (each may land on either API worker)."""
    out = []
    for _ in range(times):
        with requests.Session() as fresh:
            r = fresh.get(node.url("tasks"), verify=False, timeout=10)
        assert r.status_code == 200, r.text
        out.append(r.json())
    return out


def test_every_added_and_deleted_task_shows_at_once_in_every_process(node):
    first = post_task(node, idle(start="2099-01-01T00:00:00Z"))
    assert all(first in urls for urls in _lists(node))
    second = post_task(node, idle(start="2099-01-01T00:00:00Z"))
    assert all(urls[-2:] == [first, second] for urls in _lists(node))
    # A purge deletes task rows without the API; a TRUNCATE would too (its own trigger).
    with psycopg2.connect(node.dsn) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM task WHERE uuid = %s", (first.rsplit("/", 1)[1],))
    conn.close()
    assert all(first not in urls and urls[-1] == second for urls in _lists(node))


def _task_scans(plan: dict) -> list[int]:
    """Loops of every plan node that reads the task table."""
    found = [plan["Actual Loops"]] if plan.get("Relation Name") == "task" else []
    for child in plan.get("Plans", []):
        found += _task_scans(child)
    return found


def test_a_kept_list_is_not_made_again(node):
    """The one statement GET /tasks sends reads the task table only if the caller's copy is
    older than the list (plan read with EXPLAIN ANALYZE)."""
    post_task(node, idle(start="2099-01-01T00:00:00Z"))
    params = {"json": None, "limit": None, "offset": 0, "prefix": '"https://h/pscheduler/tasks/'}
    conn = psycopg2.connect(node.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version FROM task_list_version")
            version = cur.fetchone()[0]
            scans = {}
            for kept in (version, version - 1, None):
                cur.execute(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + query("task_uuid_list"),
                    {**params, "kept": kept},
                )
                scans[kept] = _task_scans(cur.fetchone()[0][0]["Plan"])
        assert scans[version] and all(loops == 0 for loops in scans[version])
        assert scans[version - 1] == [1] and scans[None] == [1]
    finally:
        conn.close()


def test_a_long_list_comes_whole_in_order_from_bounded_pieces(node):
    """GET /tasks gives every task in order however long the list, while no value the
    database sends grows with it (one 540 kB value left every pooled connection that
    fetched it holding a 1 MB input buffer)."""
    posted = [post_task(node, idle(start="2099-01-01T00:00:00Z")) for _ in range(150)]
    assert all(urls[-150:] == posted for urls in _lists(node, 4))
    params = {"json": None, "limit": None, "offset": 0, "prefix": '"https://h/pscheduler/tasks/'}
    conn = psycopg2.connect(node.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(query("task_uuid_list"), {**params, "kept": None})
            pieces = [urls for _, urls in cur.fetchall()]
    finally:
        conn.close()
    assert len(pieces) >= 3
    assert max(len(piece.split(",")) for piece in pieces) <= 64
