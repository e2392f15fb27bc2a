"""``pscheduler-server``: runs a whole node, or one of its processes alone.

With no subcommand it is the supervisor: it starts the embedded PostgreSQL (unless a DSN is
given), applies migrations, makes a TLS certificate if there is none, then runs the API and
the four daemons as child processes, restarting any that dies.  Ctrl-C or SIGTERM stops every
child and the database, and leaves no process behind.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from pscheduler import logs
from pscheduler.config import Config
from pscheduler.db import Database, DatabaseUnavailable, migrate
from pscheduler.db.embedded import DBNAME, EmbeddedPostgres
from pscheduler.limits import LimitConfigError, limit_diags
from pscheduler.node import status
from pscheduler.psconfig.sources import configured
from pscheduler.server import statelock
from pscheduler.server.psconfig import add_parser as add_psconfig_parser
from pscheduler.server.psconfig import run as run_psconfig
from pscheduler.server.tls import ensure_certificate, make_private
from pscheduler.server.tokens import add_parser as add_token_parser
from pscheduler.server.tokens import run as run_token
from pscheduler.toolkit.destinations import validate_lists
from pscheduler.toolkit.iso8601 import parse_duration

log = logging.getLogger("pscheduler.server")

PROCESSES = ("api", "scheduler", "runner", "archiver", "ticker")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pscheduler-server",
        description="Run a pscheduler node (API, scheduler, runner, archiver, ticker).",
    )
    parser.add_argument("--listen", help="HOST:PORT for the API (default 127.0.0.1:8443)")
    parser.add_argument("--state-dir", help="where the node keeps its database and certificate")
    parser.add_argument(
        "--config-dir", help="where limits.conf and default archives live (default: the state dir)"
    )
    parser.add_argument(
        "--dsn", help="PostgreSQL DSN (or PSCHEDULER_DSN); default: embedded server"
    )
    parser.add_argument("--no-tls", action="store_true", help="serve plain HTTP")
    parser.add_argument(
        "--cert", help="TLS certificate (PEM); default: self-signed in the state dir"
    )
    parser.add_argument("--key", help="TLS private key (PEM)")
    parser.add_argument("--hostname", help="the name this node puts in URLs")
    parser.add_argument("--limits", help="limits file (default: limits.conf in the config dir)")
    parser.add_argument(
        "--ntp-server", help="NTP server /status compares the clock with (default: none)"
    )
    parser.add_argument(
        "--cymru-resolver",
        help="DNS server HOST[:PORT] for Team Cymru bogon/AS look-ups (default: the system's)",
    )
    parser.add_argument("--api-workers", type=int, help="gunicorn worker processes (default 2)")
    parser.add_argument(
        "--archive-allow",
        help="networks archives may reach despite the defaults (e.g. 127.0.0.1/32,unix)",
    )
    parser.add_argument("--archive-deny", help="networks archives may never reach")
    parser.add_argument("--debug", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the whole node (the default)")
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    for name in PROCESSES:
        sub.add_parser(name, help=f"run the {name} process alone")
    pause = sub.add_parser("pause", help="stop starting runs (those due become missed)")
    pause.add_argument("duration", nargs="?", help="ISO 8601 duration (default: until resumed)")
    sub.add_parser("resume", help="start runs again after a pause")
    diags = sub.add_parser("limit-diags", help="run a task through the limit system")
    diags.add_argument("task_file", nargs="?", help="task JSON file (default: stdin; '-' too)")
    diags.add_argument("--start", help="run start time (ISO 8601) for time-based limits")
    diags.add_argument("--duration", help="run duration (ISO 8601)")
    diags.add_argument("--hints", help='hints as JSON, e.g. {"requester": "192.0.2.1"}')
    add_token_parser(sub)
    add_psconfig_parser(sub)
    return parser


def command_dsn(config: Config) -> str:
    """The DSN a one-off command uses: the configured one, or the embedded cluster's socket."""
    if config.dsn:
        return config.dsn
    pgdata = os.path.join(config.state_dir, "pgdata")
    return f"postgresql://postgres:@/{DBNAME}?host={pgdata}"


def control_command(command: str, config: Config, args: argparse.Namespace) -> int:
    db = Database(command_dsn(config), "pscheduler-control")
    if command == "pause":
        try:
            duration = parse_duration(args.duration) if args.duration else None
        except ValueError as exc:
            print(f"pscheduler-server: {exc}", file=sys.stderr)
            return 2
        status.pause(db, duration)
    else:
        status.resume(db)
    print(json.dumps(status.pause_state(db)))
    return 0


def limit_diags_command(config: Config, args: argparse.Namespace) -> int:
    source = sys.stdin if args.task_file in (None, "-") else open(args.task_file)  # noqa: SIM115
    with source:
        text = source.read()
    try:
        task = json.loads(text) if text.strip() else None
        hints = json.loads(args.hints) if args.hints else None
    except ValueError as exc:
        print(f"pscheduler-server: invalid JSON: {exc}", file=sys.stderr)
        return 2
    try:
        print(
            limit_diags(task, hints, start=args.start, duration=args.duration, path=config.limits)
        )
    except LimitConfigError as exc:
        print(f"pscheduler-server: {exc}", file=sys.stderr)
        return 1
    return 0


def build_config(args: argparse.Namespace) -> Config:
    config = Config.from_env()
    for name in (
        "listen",
        "state_dir",
        "config_dir",
        "dsn",
        "cert",
        "key",
        "hostname",
        "limits",
        "ntp_server",
        "cymru_resolver",
        "api_workers",
        "archive_allow",
        "archive_deny",
    ):
        value = getattr(args, name, None)
        if value is not None:
            setattr(config, name, value)
    if args.no_tls:
        config.tls = False
    if args.debug:
        config.debug = True
    # Derived defaults depend on what the flags changed.
    if args.listen and not args.hostname and "PSCHEDULER_HOSTNAME" not in os.environ:
        config.hostname = ""
    if args.state_dir:
        for name, env in (
            ("config_dir", "PSCHEDULER_CONFIG_DIR"),
            ("cert", "PSCHEDULER_CERT"),
            ("key", "PSCHEDULER_KEY"),
            ("limits", "PSCHEDULER_LIMITS"),
        ):
            if getattr(args, name, None) is None and env not in os.environ:
                setattr(config, name, "")
    return config.finish()


def _die_with_parent() -> None:
    """Children get SIGTERM if the supervisor dies, even by kill -9 (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Supervisor:
    def __init__(self, config: Config, embedded: EmbeddedPostgres | None = None):
        self.config = config
        self.embedded = embedded
        self.children: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, tuple[int, float]] = {}
        self.stopping = False
        self._watcher: threading.Thread | None = None

    def spawn(self, name: str) -> None:
        env = dict(os.environ)
        env.update(self.config.to_env())
        # One malloc arena per thread (glibc's default, up to 8 per core) keeps the memory of
        # a burst of threads (event streams, idle connections) long after they are gone.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        self.children[name] = subprocess.Popen(
            [sys.executable, "-m", "pscheduler.server", name],
            env=env,
            preexec_fn=_die_with_parent,
        )

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._stop)
        for name in PROCESSES:
            self.spawn(name)
        if self.embedded is not None:
            self._watcher = threading.Thread(
                target=self._watch_postgres, name="postgres-watch", daemon=True
            )
            self._watcher.start()
        last_check = 0.0
        scheme = "https" if self.config.tls else "http"
        log.info(
            "Node running at %s://%s/pscheduler/ (state in %s)",
            scheme,
            self.config.listen,
            self.config.state_dir,
        )
        while not self.stopping:
            for name, proc in list(self.children.items()):
                code = proc.poll()
                if code is None or self.stopping:
                    continue
                count, since = self.restarts.get(name, (0, time.monotonic()))
                if time.monotonic() - since > 60:
                    count, since = 0, time.monotonic()
                delay = min(30.0, 0.5 * (2**count))
                log.error("%s exited with status %s; restarting in %.1f s", name, code, delay)
                self.restarts[name] = (count + 1, since)
                end = time.monotonic() + delay
                while not self.stopping and time.monotonic() < end:
                    time.sleep(0.1)
                if not self.stopping:
                    self.spawn(name)
            if time.monotonic() - last_check > 2.0:
                last_check = time.monotonic()
                self._start_optional()
            time.sleep(0.2)
        return self.shutdown()

    def _watch_postgres(self) -> None:
        """Restart the embedded postmaster when it dies (crash, OOM kill, ``kill -9``).

        The first attempt is immediate; repeated failures back off up to 30 s.  The children
        are not restarted: their pools and LISTEN connections reconnect by themselves.
        """
        embedded = self.embedded
        assert embedded is not None
        failures = 0
        while not self.stopping:
            if embedded.alive():
                time.sleep(0.1)
                continue
            died = time.monotonic()
            log.error("PostgreSQL (pid %s) died; restarting it", embedded.pid)
            while not self.stopping:
                try:
                    embedded.restart()
                except Exception as exc:  # noqa: BLE001 - keep trying, with backoff
                    failures += 1
                    delay = min(30.0, 0.5 * (2 ** min(failures, 6)))
                    log.error("PostgreSQL did not start (%r); retrying in %.1f s", exc, delay)
                    end = time.monotonic() + delay
                    while not self.stopping and time.monotonic() < end:
                        time.sleep(0.1)
                    continue
                failures = 0
                log.warning(
                    "PostgreSQL back (pid %s) after %.1f s", embedded.pid, time.monotonic() - died
                )
                break

    def _start_optional(self) -> None:
        """The pSConfig agent runs once a template is configured (psconfig.d/ or a remote)."""
        if "psconfig" not in self.children and configured(self.config.config_dir):
            log.info("pSConfig template found: starting the agent")
            self.spawn("psconfig")

    def _stop(self, signum, frame) -> None:  # noqa: ARG002
        self.stopping = True

    def shutdown(self) -> int:
        if self._watcher is not None:
            self._watcher.join(15)  # a restart in progress ends before the database stops
        for proc in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        for proc in self.children.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log.info("All processes stopped")
        return 0


def run_node(config: Config) -> int:
    os.makedirs(config.state_dir, mode=0o700, exist_ok=True)
    try:
        lock = statelock.acquire(config.state_dir, config.listen)
    except statelock.StateDirBusy as exc:
        print(f"pscheduler-server: {exc}", file=sys.stderr)
        return 1
    embedded = None
    if not config.dsn:
        embedded = EmbeddedPostgres(config.state_dir)
        log.info("Starting the embedded PostgreSQL in %s", embedded.pgdata)
        config.dsn = embedded.start()
    try:
        migrate.upgrade(config.dsn)
        if config.tls:
            ensure_certificate(config.cert, config.key, config.hostname)
        make_private(config.state_dir)
        return Supervisor(config, embedded).run()
    finally:
        if embedded is not None:
            log.info("Stopping the embedded PostgreSQL")
            embedded.stop()
        lock.close()


def run_process(name: str, config: Config) -> int:
    if name == "api":
        # Only the API process loads Flask and gunicorn; the daemons never import the API.
        from pscheduler.api.serve import serve

        return serve(config)
    module = importlib.import_module(f"pscheduler_daemons.{name}")
    return module.main(config)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    try:
        config = build_config(args)
        validate_lists(config.archive_allow, config.archive_deny)
    except ValueError as exc:
        print(f"pscheduler-server: {exc}", file=sys.stderr)
        return 2
    if config.cymru_resolver:  # read by pscheduler.toolkit.cymru in this process too
        os.environ["PSCHEDULER_CYMRU_RESOLVER"] = config.cymru_resolver
    quiet = command in ("run", "db", "token") or (
        command == "psconfig" and getattr(args, "psconfig_action", None) not in (None, "agent")
    )
    logs.setup("server" if quiet else command, config.debug)
    try:
        if command == "run":
            return run_node(config)
        if command in ("pause", "resume"):
            return control_command(command, config, args)
        if command == "limit-diags":
            return limit_diags_command(config, args)
        if command == "db":
            if not config.dsn:
                log.error("db upgrade needs --dsn or PSCHEDULER_DSN")
                return 2
            applied = migrate.upgrade(config.dsn)
            print(f"Applied migrations: {applied}" if applied else "Database is up to date")
            return 0
        if command == "token":
            return run_token(args, config)
        if command == "psconfig":
            return run_psconfig(args, config)
        if not config.dsn:
            log.error("%s needs --dsn or PSCHEDULER_DSN", command)
            return 2
        return run_process(command, config)
    except DatabaseUnavailable as exc:
        print(f"pscheduler-server: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
