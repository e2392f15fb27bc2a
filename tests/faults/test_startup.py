"""Start-up against a state dir that is taken or was left dirty: a second server on the same
state dir stops with one clear line; after a power cut (every process killed, a
``postmaster.pid`` left naming a pid now used by another process) the node starts anyway."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from pscheduler.db.embedded import leftover_backends
from tests.faults.conftest import embedded_node
from tests.helpers import SERVER, free_port
from tests.tasks.util import idle, post_task


@pytest.fixture(scope="module")
def node(pgdata_template):
    n = embedded_node(pgdata_template).start(timeout=90)
    yield n
    n.cleanup()


def test_second_server_on_the_same_state_dir_stops_with_one_line(node):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
    listen = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [SERVER, "--state-dir", node.state_dir, "--listen", listen, "--no-tls"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=20)
        pytest.fail("a second server on a taken state dir kept running")
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "in use by another pscheduler-server" in lines[0]
    assert f"pid {node.proc.pid}" in lines[0]
    assert node.get("api").status_code == 200  # the first node is untouched


def _power_cut(node) -> None:
    """kill -9 of every process of the node, the postmaster and its backends included."""
    pgdata = Path(node.state_dir) / "pgdata"
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    victims = [psutil.Process(node.proc.pid), psutil.Process(postmaster)]
    victims += psutil.Process(node.proc.pid).children(recursive=True)
    victims += leftover_backends(pgdata)
    for proc in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(victims, timeout=10)
    node.proc.wait(10)


def test_start_after_a_power_cut(node):
    url = post_task(node, idle())
    _power_cut(node)
    pid_file = Path(node.state_dir) / "pgdata" / "postmaster.pid"
    assert pid_file.exists()
    # After a reboot the pid in the file often belongs to some other process by now.
    lines = pid_file.read_text().splitlines()
    pid_file.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")
    try:
        node.start(timeout=90)
    except AssertionError:
        print(node.log()[-6000:])
        raise
    assert node.session.get(url, timeout=10).status_code == 200
    run = node.session.get(url + "/runs/first", params={"wait-merged": "", "wait": "30"})
    assert run.json()["state"] == "finished"
