"""Waiting on runs/first shares the process's one LISTEN connection with every other waiter."""

from __future__ import annotations

import inspect
import os
import signal
import threading
import time

import requests

from pscheduler.api import API_WAIT_FOR_CONNECTION
from pscheduler.db import Database
from tests.helpers import wait_for
from tests.tasks.util import idle, post_task, sql

WORKERS = 2
POOL = inspect.signature(Database).parameters["maxconn"].default  # each API worker's
# More waiters than all the workers' pools have connections: were a waiter to hold one for
# its wait, those beyond the pools would get a 503 after API_WAIT_FOR_CONNECTION seconds.
WAITERS = WORKERS * POOL + 8

LISTENING = """
SELECT count(*) AS listening
FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE 'pscheduler-api%%'
  AND query LIKE 'LISTEN%%'
"""


def _listening(node) -> int:
    """The API's LISTEN connections."""
    return sql(node, LISTENING)[0]["listening"]


def _scheduler_pid(node) -> int:
    return sql(node, "SELECT pid FROM heartbeat WHERE name = 'scheduler'")[0]["pid"]


def _fresh_get(node, path: str, **params) -> requests.Response:
    """A request on a new TCP connection, so it may land on any API worker."""
    with requests.Session() as s:
        s.verify, s.trust_env = False, False
        return s.get(path, params=params, timeout=40)


def test_runs_first_waits_for_a_later_run_without_extra_connections(make_node):
    node = make_node(extra_args=["--api-workers", str(WORKERS)])
    warm = post_task(node, idle("PT0S"))

    def every_worker_listens() -> bool:
        r = _fresh_get(node, warm + "/runs/first", wait="10", **{"wait-local": ""})
        assert r.status_code == 200, r.text
        return _listening(node) == WORKERS

    # Each worker opens its one LISTEN connection on its first wait.
    wait_for(every_worker_listens, timeout=30, interval=0.1, what="a listener in every worker")
    with requests.Session() as s:  # an event stream shares that connection too
        s.verify, s.trust_env = False, False
        stream = s.get(node.url("events"), stream=True, timeout=10)
        assert stream.status_code == 200
        next(stream.iter_lines())
        assert _listening(node) == WORKERS

        scheduler = _scheduler_pid(node)
        os.kill(scheduler, signal.SIGSTOP)  # no run can be placed until it continues
        try:
            url = post_task(node, idle("PT0S"))
            answers: list[requests.Response] = []

            def waiter():
                answers.append(_fresh_get(node, url + "/runs/first", wait="30"))

            threads = [threading.Thread(target=waiter) for _ in range(WAITERS)]
            for t in threads:
                t.start()
            samples = []
            deadline = time.monotonic() + 2 * API_WAIT_FOR_CONNECTION + 1
            while time.monotonic() < deadline:  # watch while they arrive and wait
                samples.append(_listening(node))
                threads[0].join(0.1)
            # None was refused for want of a connection: the waiters hold none.
            assert not answers, [(a.status_code, a.text[:80]) for a in answers]
            assert all(listening == WORKERS for listening in samples), samples
        finally:
            os.kill(scheduler, signal.SIGCONT)
        for t in threads:
            t.join(45)
        stream.close()
    assert len(answers) == WAITERS
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    hrefs = {a.json()["href"] for a in answers}
    assert len(hrefs) == 1 and hrefs.pop().startswith(url + "/runs/")
