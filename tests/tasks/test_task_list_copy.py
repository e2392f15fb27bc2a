"""GET /tasks from each API process's kept copy: exact after every change (issue 14).

The list changes only when a task is added or deleted; a version row, bumped in the same
commit (migration 061), tells a process whether its copy is still the list."""

from __future__ import annotations

import psycopg2
import pytest
import requests

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


def test_a_kept_list_is_answered_without_reading_the_task_table(node):
    post_task(node, idle(start="2099-01-01T00:00:00Z"))
    with requests.Session() as kept:  # one connection: one API worker
        kept.verify, kept.trust_env = False, False
        before = kept.get(node.url("tasks"), timeout=10).json()
        assert kept.get(node.url("tasks"), timeout=10).json() == before
        locker = psycopg2.connect(node.dsn)
        try:
            with locker.cursor() as cur:
                cur.execute("LOCK TABLE task IN ACCESS EXCLUSIVE MODE")
            # The kept copy needs only the version row ...
            assert kept.get(node.url("tasks"), timeout=5).json() == before
            # ... while a list not kept (another page) must wait for the task table.
            with pytest.raises(requests.exceptions.ReadTimeout):
                kept.get(node.url("tasks?limit=1"), timeout=2)
        finally:
            locker.rollback()
            locker.close()
