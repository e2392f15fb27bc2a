"""The state dir's file system full: the API answers 507 naming it (never a dropped
connection or a dead worker), the daemons log it once a minute, /status and /metrics show
the free space, and everything resumes once space is freed."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.faults.conftest import embedded_node
from tests.helpers import wait_for
from tests.tasks.util import idle


@pytest.fixture
def small_fs():
    """A 96 MiB tmpfs mounted for the test (needs root, or CAP_SYS_ADMIN)."""
    mnt = tempfile.mkdtemp(prefix="pscheduler-full-")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96m,mode=0755", "tmpfs", mnt],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        Path(mnt).rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield Path(mnt)
    subprocess.run(["umount", "-l", mnt], check=False)
    with contextlib.suppress(OSError):
        Path(mnt).rmdir()


def _fill(path: Path) -> None:
    with open(path, "wb") as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * (256 * 1024))
                f.flush()


def _workers(node) -> set[int]:
    return {p.pid for p in psutil.Process(node.proc.pid).children(recursive=True)}


def test_disk_full_gives_507_and_recovers(pgdata_template, small_fs):
    state = small_fs / "state"
    state.mkdir(mode=0o755)
    node = embedded_node(pgdata_template, state_dir=str(state))
    try:
        node.start(timeout=90)
        assert node.post("tasks", json=idle()).status_code == 200
        before = _workers(node)
        filler = small_fs / "filler"
        _fill(filler)

        answers = []
        for i in range(80):  # until PostgreSQL needs a new block (and after, a little)
            try:
                answers.append(node.post("tasks", json=idle(), timeout=10).status_code)
            except requests.RequestException as exc:
                answers.append(type(exc).__name__)
            # New routes and statuses make the metrics files grow: the SIGBUS of old.
            for path in ("status", f"tasks/x{i}", "metrics"):
                with contextlib.suppress(requests.RequestException):
                    answers.append(node.get(path, timeout=10).status_code)
            if answers.count(507) >= 3:
                break
        assert 507 in answers, answers
        assert set(answers) <= {200, 404, 507}, answers
        full = node.post("tasks", json=idle())
        assert full.status_code == 507
        assert f"the file system {small_fs} holding the state dir" in full.text
        assert full.text.strip().count("\n") == 0
        # Free space is cached for a second (storage.free_bytes): the fill may be newer.
        wait_for(
            lambda: node.get("status").json()["host"]["state-dir-full"],
            timeout=5,
            what="/status to report the state dir full",
        )
        assert "pscheduler_state_dir_free_bytes" in node.get("metrics").text
        assert _workers(node) == before, "a process of the node died"
        assert "SIGBUS" not in node.log()

        filler.unlink()
        began = time.monotonic()
        wait_for(
            lambda: node.post("tasks", json=idle()).status_code == 200,
            timeout=30,
            interval=0.2,
            what="writes to resume once space was freed",
        )
        print(f"writes resumed {time.monotonic() - began:.1f} s after space was freed")
        wait_for(  # /status reads the free space at most once a second
            lambda: node.get("status").json()["host"]["state-dir-full"] is False,
            timeout=10,
            what="/status to see the space freed",
        )
        assert node.get("status").json()["host"]["state-dir-free-bytes"] > 0
        url = node.post("tasks", json=idle()).json()
        run = node.session.get(url + "/runs/first", params={"wait-merged": "", "wait": "30"})
        assert run.json()["state"] == "finished"
        # Daemons that hit the full disk said so at most once a minute each.
        lines = [line for line in node.log().splitlines() if "is full" in line]
        by_process = {}
        for line in lines:
            by_process[line.split()[3]] = by_process.get(line.split()[3], 0) + 1
        assert all(count <= 2 for count in by_process.values()), lines
    finally:
        node.cleanup()
