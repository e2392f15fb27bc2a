"""The embedded postmaster killed (``kill -9``) while tasks are posted: the supervisor brings
it back, the API answers 503 meanwhile (never hangs) and 200 again soon after, the daemons
reconnect by themselves and nothing acknowledged is lost."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.faults.conftest import embedded_node
from tests.helpers import wait_for
from tests.tasks.util import iso, now

TRANSITIONAL = {"pending", "on-deck", "running", "cleanup"}


@pytest.fixture(scope="module")
def node(pgdata_template):
    n = embedded_node(pgdata_template).start(timeout=90)
    yield n
    n.cleanup()


def _postmaster(node) -> int:
    return int((Path(node.state_dir) / "pgdata" / "postmaster.pid").read_text().split()[0])


def test_postmaster_kill_is_survived(node):
    # Every run starts after the outage: the test is about reconnecting, not about a run
    # caught mid-flight (that is the stuck-run sweep's business).
    start = iso(now() + dt.timedelta(seconds=12))
    task = {"schema": 1, "test": {"type": "idle", "spec": {"duration": "PT1S"}}}
    task["schedule"] = {"start": start}
    acknowledged: list[str] = []
    answers: list[tuple[float, object, float]] = []
    stop = threading.Event()

    def post_forever():
        session = requests.Session()
        session.trust_env = False
        while not stop.is_set():
            began = time.monotonic()
            try:
                r = session.post(node.url("tasks"), json=task, timeout=6)
                outcome: object = r.status_code
                if r.status_code == 200:
                    acknowledged.append(r.json())
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            answers.append((began, outcome, time.monotonic() - began))
            stop.wait(0.1)

    poster = threading.Thread(target=post_forever, daemon=True)
    poster.start()
    try:
        wait_for(lambda: len(acknowledged) >= 3, timeout=20, what="tasks before the kill")
        old = _postmaster(node)
        killed = time.monotonic()
        os.kill(old, signal.SIGKILL)
        back = wait_for(
            lambda: [a for a in answers if a[0] > killed + 0.5 and a[1] == 200],
            timeout=25,
            interval=0.1,
            what="the API to answer 200 after the postmaster was killed",
        )[0][0]
        wait_for(lambda: len([a for a in answers if a[0] > back]) >= 5, timeout=15)
    finally:
        stop.set()
        poster.join(10)
    assert _postmaster(node) != old
    during = [a for a in answers if killed <= a[0] < back]
    assert during, "no request was answered while the database was down"
    assert {a[1] for a in during} <= {200, 503}, during  # a status, never a hang or a reset
    assert max(a[2] for a in answers) < 5.0
    print(f"API back {back - killed:.1f} s after the kill; {len(during)} answers meanwhile")

    lost = [u for u in acknowledged if node.session.get(u, timeout=10).status_code != 200]
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged tasks lost"

    def settled():
        states = []
        for url in acknowledged:
            r = node.session.get(url + "/runs/first", timeout=10)
            states.append(r.json()["state"] if r.status_code == 200 else "none")
        return all(s not in TRANSITIONAL and s != "none" for s in states) and states

    states = wait_for(settled, timeout=40, interval=0.5, what="every run to end")
    assert set(states) == {"finished"}, states
