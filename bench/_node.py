"""Shared by the bench scripts: a node to measure (started here unless --url is given)."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pscheduler.toolkit import ports

SERVER = str(Path(sys.executable).parent / "pscheduler-server")


def free_port() -> int:
    return ports.free_port("127.0.0.1")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(name: str, values_ms: list[float], goal: str = "") -> str:
    mean = sum(values_ms) / len(values_ms)
    return (
        f"{name:<48} n={len(values_ms):<5} mean={mean:8.2f} ms  p95={percentile(values_ms, 95):8.2f} ms"
        f"  p99={percentile(values_ms, 99):8.2f} ms  {goal}"
    )


class BenchNode:
    """A node with the embedded PostgreSQL in a temporary state dir."""

    def __init__(self, extra: list[str] | None = None):
        self.port = free_port()
        self.state = tempfile.mkdtemp(prefix="pscheduler-bench-")
        os.chmod(self.state, 0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
        self.log = open(Path(self.state) / "node.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                SERVER,
                "--state-dir",
                self.state,
                "--listen",
                f"127.0.0.1:{self.port}",
                *(extra or []),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if request("GET", self.host, "/pscheduler/api")[0] == 200:
                    break
            time.sleep(0.2)
        else:
            raise SystemExit("node did not start; see " + str(Path(self.state) / "node.log"))
        time.sleep(2)  # daemons up

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres:@/pscheduler?host={self.state}/pgdata"

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.state, ignore_errors=True)


_CTX = ssl.create_default_context()
_CTX.check_hostname = False
_CTX.verify_mode = ssl.CERT_NONE


def request(method: str, host: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One request on a NEW TLS connection, as the original's clients do."""
    conn = http.client.HTTPSConnection(host, context=_CTX, timeout=60)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
