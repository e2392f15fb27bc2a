"""The embedded PostgreSQL: a private cluster in the state dir, started with ``pgserver``.

A fresh machine needs nothing but Python; the cluster is reused on the next start.  The
supervisor watches the postmaster (``alive``) and brings it back (``restart``) after a crash
or a ``kill -9``: what such a death leaves behind (orphaned backends still attached to the
shared memory, a ``postmaster.pid`` naming a dead or reused pid) is cleared first, or
PostgreSQL would refuse to start.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import time
from pathlib import Path

import psutil
import psycopg2

log = logging.getLogger(__name__)

DBNAME = "pscheduler"
# Every process keeps a small pool; PostgreSQL's default of 100 connections is too few for a
# busy node (and for the test suite's many nodes on one cluster).
MAX_CONNECTIONS = 500
PID_FILE = "postmaster.pid"
SETTINGS = {
    "max_connections": MAX_CONNECTIONS,
    # Crash recovery first fsyncs every file of the cluster one by one (seconds on a busy
    # disk); one syncfs() of the file system is as safe and brings a killed postmaster back
    # within the 5 s the supervisor aims for.
    "recovery_init_sync_method": "syncfs",
}
NEEDS_RESTART = {"max_connections"}


def _process(pid: int) -> psutil.Process | None:
    """The live (not zombie) process ``pid``, or None."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def _cwd(proc: psutil.Process) -> str | None:
    try:
        return proc.cwd()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def _same_dir(a: str | None, b: Path) -> bool:
    return a is not None and os.path.realpath(a) == str(b.resolve())


def postmaster_pid(pgdata: Path) -> int | None:
    """The pid ``postmaster.pid`` names if that process is a postgres running in ``pgdata``
    (PostgreSQL's processes work in their data directory); None for a missing or stale file."""
    try:
        first = (pgdata / PID_FILE).read_text().split("\n", 1)[0].strip()
        pid = int(first)
    except (OSError, ValueError):
        return None
    proc = _process(pid)
    if proc is None or _cwd(proc) is None or not _same_dir(_cwd(proc), pgdata):
        return None
    return pid


def leftover_backends(pgdata: Path) -> list[psutil.Process]:
    """PostgreSQL processes still working in ``pgdata`` (backends orphaned by a killed
    postmaster keep its shared memory attached, and a new postmaster refuses to start)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "postgres":
            continue
        if _same_dir(_cwd(proc), pgdata) and _process(proc.pid) is not None:
            found.append(proc)
    return found


def clear_stale(pgdata: Path, wait: float = 3.0) -> None:
    """Make a dead cluster startable: no orphaned backend, no stale ``postmaster.pid``.

    Only called when no live postmaster serves ``pgdata`` (``postmaster_pid`` is None): an
    orphaned backend is given ``wait`` s to notice its postmaster died, then killed.
    """
    deadline = time.monotonic() + wait
    while True:
        left = leftover_backends(pgdata)
        if not left:
            break
        if time.monotonic() >= deadline:
            for proc in left:
                log.warning("Killing orphaned PostgreSQL process %d", proc.pid)
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            psutil.wait_procs(left, timeout=2)
            break
        time.sleep(0.05)
    pid_file = pgdata / PID_FILE
    socket_dirs = {pgdata}
    with contextlib.suppress(OSError, IndexError):
        socket_dirs.add(Path(pid_file.read_text().splitlines()[4].strip() or pgdata))
    # The socket's lock file names the dead postmaster too; PostgreSQL refuses to start while
    # that pid exists, and a killed postmaster may stay a zombie for a while.
    stale = [path for folder in socket_dirs for path in folder.glob(".s.PGSQL.*.lock")]
    if pid_file.exists():
        stale.append(pid_file)
    for path in stale:
        log.warning("Removing the stale %s (its postmaster is gone)", path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _forget(server) -> None:
    """Drop pgserver's handle on a cluster whose postmaster died, so ``get_server`` makes a
    new one (and starts the server) instead of returning the cached dead handle."""
    from pgserver.postgres_server import PostgresServer

    atexit.unregister(server._cleanup)
    with contextlib.suppress(Exception):
        server.global_process_id_list.get_and_remove(os.getpid())
    PostgresServer._instances.pop(server.pgdata, None)


def _prune_handles(pgdata: Path) -> None:
    """pgserver stops the cluster when the last process holding a handle lets go, counting
    the pids in ``.handle_pids.json``; pids of processes killed long ago would keep it from
    ever stopping the server."""
    path = pgdata / ".handle_pids.json"
    with contextlib.suppress(OSError, ValueError):
        import json

        pids = json.loads(path.read_text())
        live = [pid for pid in pids if _process(pid) is not None]
        if live != pids:
            path.write_text(json.dumps(live))


def start_cluster(pgdata: Path):
    """Start (or attach to) a pgserver cluster in ``pgdata`` with room for enough connections."""
    import pgserver  # imported late: only nodes without a DSN need it

    pgdata.mkdir(parents=True, exist_ok=True)
    if (pgdata / "PG_VERSION").exists():
        _prune_handles(pgdata)
        if postmaster_pid(pgdata) is None:
            clear_stale(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    conn = psycopg2.connect(server.get_uri("postgres"))
    conn.autocommit = True
    restart = False
    try:
        with conn.cursor() as cur:
            for name, value in SETTINGS.items():
                cur.execute(f"SHOW {name}")
                current = cur.fetchone()[0]
                if current == str(value) or (name == "max_connections" and int(current) >= value):
                    continue
                cur.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                restart = restart or name in NEEDS_RESTART
            cur.execute("SELECT pg_reload_conf()")
    finally:
        conn.close()
    if not restart:
        return server
    log.info("Restarting the embedded PostgreSQL for max_connections = %d", MAX_CONNECTIONS)
    server.cleanup()
    return pgserver.get_server(pgdata, cleanup_mode="stop")


class EmbeddedPostgres:
    def __init__(self, state_dir: str):
        self.pgdata = Path(state_dir) / "pgdata"
        self._server = None
        self.pid: int | None = None
        self._socket_dir: Path | None = None

    def start(self, dbname: str = DBNAME) -> str:
        """Start (or attach to) the cluster and return a DSN for ``dbname``, created if new."""
        self._server = start_cluster(self.pgdata)
        info = self._server.get_postmaster_info()
        self.pid, self._socket_dir = info.pid, info.socket_dir
        ensure_database(self._server.get_uri("postgres"), dbname)
        return self._server.get_uri(dbname)

    def alive(self) -> bool:
        """Whether the postmaster started by ``start`` (or ``restart``) still runs."""
        return self.pid is not None and _process(self.pid) is not None

    def restart(self, timeout: float = 30.0) -> None:
        """Start the cluster again after its postmaster died, on the same socket (so every
        process's DSN stays valid).  ``pg_ctl`` directly: pgserver's start first re-walks
        the permissions of its whole installation, which takes seconds."""
        from pgserver._commands import pg_ctl

        assert self._server is not None, "restart() after start()"
        clear_stale(self.pgdata)
        socket_dir = self._socket_dir or self.pgdata
        pg_ctl(
            ["-w", "-t", str(int(timeout)), "-o", '-h ""', "-o", f"-k {socket_dir}"]
            + ["-l", str(self.pgdata / "log"), "start"],
            pgdata=self.pgdata,
            user=self._server.system_user,
            timeout=timeout + 5,
        )
        self.pid = postmaster_pid(self.pgdata)
        if self.pid is None:
            raise RuntimeError("pg_ctl started PostgreSQL but no postmaster serves the cluster")

    def stop(self) -> None:
        """Stop the cluster, whichever postmaster (first or restarted) now serves it."""
        if self._server is None:
            return
        from pgserver._commands import pg_ctl

        if self.alive():
            try:
                pg_ctl(
                    ["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user
                )
            except Exception as exc:  # noqa: BLE001 - fall back to pgserver's own stop
                log.warning("pg_ctl stop failed: %s", exc)
        _forget(self._server)
        self._server = None


def ensure_database(admin_dsn: str, dbname: str) -> None:
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is None:
                log.info("Creating database %s", dbname)
                cur.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        conn.close()
