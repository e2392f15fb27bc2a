"""Faults: daemons killed mid-run, the database going away, pause, purge."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

import pgserver

from tests.helpers import SERVER, Node, wait_for
from tests.tasks.util import idle, iso, now, post_task, run_times, runs, sql


def _pid_of(node, name: str) -> int:
    return sql(node, "SELECT pid FROM heartbeat WHERE name = %s", (name,))[0]["pid"]


def test_runner_killed_mid_run_loses_nothing(make_node):
    node = make_node()
    long = post_task(node, idle("PT30S", start=iso(now() + dt.timedelta(seconds=2))))
    later = (now() + dt.timedelta(seconds=20)).replace(microsecond=0)
    ahead = post_task(node, idle("PT1S", start=iso(later)))
    wait_for(
        lambda: [r for r in run_times(node, long) if r[2] == "running"],
        timeout=15,
        what="the long run to start",
    )
    old_pid = _pid_of(node, "runner")
    os.kill(old_pid, signal.SIGKILL)
    wait_for(lambda: _pid_of(node, "runner") != old_pid, timeout=20, what="runner restart")
    run = wait_for(
        lambda: [r for r in runs(node, long) if r["state"] == "failed"],
        timeout=20,
        what="the orphaned run to be failed",
    )[0]
    assert "runner stopped" in run["errors"]
    done = node.session.get(
        ahead + "/runs/first", params={"wait-merged": "", "wait": "30"}, timeout=40
    ).json()
    assert done["state"] == "finished"
    lateness = (dt.datetime.fromisoformat(done["started"]) - later).total_seconds()
    assert 0 <= lateness < 1.0


def test_pause_makes_due_runs_missed_and_resume_restores(make_node):
    node = make_node()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
    r = subprocess.run(
        [SERVER, "--dsn", node.dsn, "pause"], capture_output=True, text=True, env=env, timeout=30
    )
    assert r.returncode == 0, r.stderr
    assert node.get("stat/control/pause").json() == {"is_paused": True, "infinite": True}
    url = post_task(node, idle())
    run = wait_for(
        lambda: [x for x in runs(node, url) if x["state"] == "missed"],
        timeout=10,
        what="missed run",
    )[0]
    assert run["result"]["diags"] == "System was paused."
    subprocess.run([SERVER, "--dsn", node.dsn, "resume"], check=True, env=env, timeout=30)
    assert node.get("stat/control/pause").json() == {"is_paused": False}
    url = post_task(node, idle())
    assert (
        node.session.get(
            url + "/runs/first", params={"wait-merged": "", "wait": "10"}, timeout=20
        ).json()["state"]
        == "finished"
    )
    r = subprocess.run(
        [SERVER, "--dsn", node.dsn, "pause", "PT1H"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    state = node.get("stat/control/pause").json()
    assert state["is_paused"] and not state["infinite"] and state["remaining"].startswith("PT59M")
    subprocess.run([SERVER, "--dsn", node.dsn, "resume"], check=True, env=env, timeout=30)


def test_ticker_purges_old_runs_and_finished_tasks(make_node):
    node = make_node()
    sql(node, "UPDATE configurables SET keep_runs_tasks = 'PT2S'")
    done = post_task(node, idle())
    assert (
        node.session.get(
            done + "/runs/first", params={"wait-merged": "", "wait": "10"}, timeout=20
        ).json()["state"]
        == "finished"
    )
    ahead = post_task(node, idle(start=iso(now() + dt.timedelta(minutes=5))))
    wait_for(
        lambda: node.session.get(done, timeout=10).status_code == 404,
        timeout=30,
        interval=0.5,
        what="the finished task to be purged",
    )
    assert node.session.get(ahead, timeout=10).status_code == 200  # future work is kept


def test_missed_when_runner_is_down(make_node):
    node = make_node()
    sql(node, "UPDATE configurables SET run_straggle = 'PT1S'")
    runner = _pid_of(node, "runner")
    os.kill(runner, signal.SIGSTOP)
    try:
        url = post_task(node, idle())
        run = wait_for(
            lambda: [r for r in runs(node, url) if r["state"] == "missed"],
            timeout=20,
            what="the run to be missed",
        )[0]
        assert "did not start within" in run["errors"]
    finally:
        os.kill(runner, signal.SIGCONT)


def _pg_ctl(pgdata: Path, action: str) -> None:
    pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
    args = [str(pg_ctl), "-D", str(pgdata), "-w", "-t", "30"]
    if action == "start":
        args += ["-o", f'-h "" -k {pgdata}', "-l", str(pgdata / "log"), "start"]
    else:
        args += ["-m", "fast", "stop"]
    cmd = (
        args
        if os.geteuid() != 0
        else ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)]
    )
    subprocess.run(cmd, check=True, timeout=60, capture_output=True)


def test_database_outage_gives_503_and_the_node_recovers(tmp_path):
    """A database of the operator's own (``--dsn``: the node does not supervise it) goes
    away: the API answers 503 naming it, the daemons survive, and when it is back the node
    works again without a restart.  (The embedded one is restarted by the supervisor: see
    tests/faults/test_postmaster.py.)"""
    from pscheduler.db.embedded import start_cluster

    pgdata = tmp_path / "pgdata"
    server = start_cluster(pgdata)
    node = Node(dsn=server.get_uri("postgres"))
    try:
        node.start(timeout=90)
        _pg_ctl(pgdata, "stop")
        r = node.get("tasks")
        assert r.status_code == 503
        assert "database" in r.text
        assert node.post("tasks", json=idle()).status_code == 503
        time.sleep(1)  # let every daemon notice the outage (they must survive it)
        _pg_ctl(pgdata, "start")
        wait_for(lambda: node.get("tasks").status_code == 200, timeout=30, what="API recovery")
        url = post_task(node, idle())
        run = node.session.get(
            url + "/runs/first", params={"wait-merged": "", "wait": "30"}, timeout=40
        ).json()
        assert run["state"] == "finished"
    finally:
        node.cleanup()
        server.cleanup()
        # The handle only knows the postmaster it started; stop the one started here too.
        with contextlib.suppress(subprocess.SubprocessError):
            _pg_ctl(pgdata, "stop")
