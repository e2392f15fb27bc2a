"""Test helpers: real nodes on loopback, a shared embedded PostgreSQL, program checks."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import requests
import urllib3

from pscheduler.toolkit import ports

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

VENV_BIN = Path(sys.executable).parent
# Archives may not reach loopback or local sockets by default (the destination policy);
# tests whose sinks listen there allow them, as an operator with a local Logstash would.
ALLOW_LOOPBACK_SINKS = {"PSCHEDULER_ARCHIVE_ALLOW": "127.0.0.0/8,::1,unix"}
SERVER = str(VENV_BIN / "pscheduler-server")
CLI = str(VENV_BIN / "pscheduler")


def require_program(name: str) -> str:
    """The program's path; a missing one skips the test, or fails it when CI demands tools."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if os.environ.get("PSCHEDULER_REQUIRE_TOOLS") == "1":
            pytest.fail(message + " (PSCHEDULER_REQUIRE_TOOLS=1)")
        pytest.skip(message)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    return ports.free_port(host)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    return ports.free_ports(count, host)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value (bounded); returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def admin_token(node, name: str = "ops") -> str:
    """A new admin token for ``node`` (``pscheduler-server token create --admin``)."""
    done = subprocess.run(
        [SERVER, "--dsn", node.dsn, "token", "create", name, "--admin"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Cluster:
    """One PostgreSQL for the whole test session; each node gets its own database.

    PSCHEDULER_TEST_DSN (an admin DSN) uses an existing server; otherwise the embedded
    pgserver cluster is started in a temporary directory, as a fresh machine would.
    """

    def __init__(self) -> None:
        self._server = None
        self._tmp = None
        admin = os.environ.get("PSCHEDULER_TEST_DSN")
        if not admin:
            from pscheduler.db.embedded import start_cluster

            self._tmp = tempfile.mkdtemp(prefix="pscheduler-test-pg-")
            os.chmod(self._tmp, 0o755)
            self._server = start_cluster(Path(self._tmp) / "pgdata")
            admin = self._server.get_uri("postgres")
        self.admin_dsn = admin
        self._dbs: list[str] = []

    def dsn_for(self, dbname: str) -> str:
        params = psycopg2.extensions.parse_dsn(self.admin_dsn)
        params["dbname"] = dbname
        return " ".join(f"{k}='{v}'" for k, v in params.items())

    def new_database(self, prefix: str = "node") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        conn = psycopg2.connect(self.admin_dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        self._dbs.append(name)
        return self.dsn_for(name)

    def close(self) -> None:
        if self._server is not None:
            self._server.cleanup()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


_counter = itertools.count()


class Node:
    """A real node: ``pscheduler-server`` with its own database, on a loopback address."""

    def __init__(
        self,
        dsn: str | None,
        host: str = "127.0.0.1",
        tls: bool = True,
        extra_args: list[str] | None = None,
        env: dict | None = None,
    ):
        self.dsn = dsn
        self.host = host
        self.port = free_port(host)
        self.tls = tls
        self.state_dir = tempfile.mkdtemp(prefix=f"pscheduler-node{next(_counter)}-")
        os.chmod(self.state_dir, 0o755)
        self.extra_args = extra_args or []
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(self.state_dir) / "node.log"
        self.session = requests.Session()
        self.session.verify = False
        # REQUESTS_CA_BUNDLE in the environment would override verify=False.
        self.session.trust_env = False

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}/pscheduler"

    def url(self, path: str) -> str:
        return self.base + "/" + path.lstrip("/")

    def start(self, timeout: float = 60.0) -> Node:
        args = [SERVER, "--state-dir", self.state_dir, "--listen", self.address]
        if self.dsn:
            args += ["--dsn", self.dsn]
        if not self.tls:
            args.append("--no-tls")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
        env.update(self.env)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            args + self.extra_args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"node exited early:\n{self.log()}")
            with contextlib.suppress(requests.RequestException):
                return self.session.get(self.url("api"), timeout=2).status_code == 200
            return False

        wait_for(up, timeout=timeout, interval=0.1, what=f"node on {self.address}")
        self.wait_daemons()
        return self

    def wait_daemons(self, timeout: float = 30.0) -> None:
        names = {"scheduler", "runner", "archiver", "ticker"}

        def all_beating():
            status = self.get("status").json()
            return names <= set(status.get("services") or {})

        wait_for(all_beating, timeout=timeout, interval=0.1, what="daemon heartbeats")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.get(self.url(path), **kw)

    def post(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.post(self.url(path), **kw)

    def put(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.put(self.url(path), **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.delete(self.url(path), **kw)

    def stop(self, timeout: float = 20.0) -> int | None:
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                code = self.proc.wait(5)
        elif self.proc is not None:
            code = self.proc.returncode
        with contextlib.suppress(Exception):
            self._log.close()
        return code

    def cleanup(self) -> None:
        self.stop()
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.state_dir, ignore_errors=True)
