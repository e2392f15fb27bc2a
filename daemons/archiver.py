"""The archiver daemon: ships each finished result to each of its archives.

It wakes on NOTIFY archiving_change (the database creates archivings when a merged result
appears), when an attempt ends (to claim more) and when the earliest retry or expiry falls
due.  Due archivings are claimed under a lease (``FOR UPDATE SKIP LOCKED``) and attempted in
a bounded thread pool; a killed archiver's claims are taken again by its successor, so every
archiving completes, at least once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pscheduler_daemons.loop import run_loop, wake

from pscheduler.archiving import deliver as archiving
from pscheduler.config import Config
from pscheduler.db import Database, DatabaseUnavailable
from pscheduler.toolkit import destinations
from pscheduler.toolkit.iso8601 import duration_to_iso

log = logging.getLogger(__name__)

CONCURRENCY = 8  # attempts in progress at once
QUEUE = 2 * CONCURRENCY  # claimed ahead, so a free worker never waits for a claim query
REFRESH = 2.0  # the safety-net sweep, default-archive checks and lease renewal cadence
RENEW_EVERY = archiving.LEASE.total_seconds() / 4
TASK_CACHE_SECONDS = 5.0  # task rows (with run counts) reused across close batches


class Archiver:
    def __init__(self, config: Config, concurrency: int = CONCURRENCY):
        scheme = "https" if config.tls else "http"
        self.node = archiving.Node(
            base=f"{scheme}://{config.node_address}/pscheduler", host=config.node_address
        )
        self.holder = os.getpid()
        self.queue = 2 * concurrency
        self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix="archive")
        self.lock = threading.Lock()
        self.claimed: set[int] = set()  # archiving ids leased to us and not yet recorded
        self.started: dict[int, float] = {}  # attempts in progress: id -> monotonic start
        self.defaults_dir = Path(config.config_dir) / archiving.DEFAULT_ARCHIVES_DIR
        self.defaults_signature: tuple | None = None
        self.defaults_checked = 0.0
        self.last_renew = time.monotonic()
        self.tasks: dict = {}  # task uuid -> (monotonic fetched, row)

    # ------------------------------------------------------------------ default archives

    def refresh_defaults(self, db: Database) -> None:
        now = time.monotonic()
        if now - self.defaults_checked < 1.0:
            return
        self.defaults_checked = now
        signature = archiving.directory_signature(self.defaults_dir)
        if signature == self.defaults_signature:
            return
        found, errors = archiving.load_default_archives(self.defaults_dir)
        for error in errors:
            log.error("%s; skipped", error)
        archiving.store_default_archives(db, found)
        self.defaults_signature = signature
        log.info("Loaded %d default archive(s) from %s", len(found), self.defaults_dir)

    # ------------------------------------------------------------------ attempts

    def _task_rows(self, db: Database, uuids: set) -> dict:
        now = time.monotonic()
        stale = {u for u in uuids if now - self.tasks.get(u, (-1e9, None))[0] > TASK_CACHE_SECONDS}
        for u, row in archiving.task_rows(db, stale).items():
            self.tasks[u] = (now, row)
        if len(self.tasks) > 10000:
            self.tasks = {u: v for u, v in self.tasks.items() if now - v[0] <= TASK_CACHE_SECONDS}
        return {u: self.tasks[u][1] for u in uuids}

    def _work(self, db: Database, row: dict, task_row: dict | None) -> None:
        archiving_id = row["archiving_id"]
        with self.lock:
            if archiving_id not in self.claimed:
                return  # given up on while queued
            self.started[archiving_id] = time.monotonic()
        try:
            outcome = archiving.attempt(row, task_row, self.node)
            with self.lock:
                if archiving_id not in self.started:
                    return  # timed out meanwhile; the outcome was already recorded
            archiving.record_outcome(db, row, self.holder, outcome)
        except DatabaseUnavailable as exc:
            log.warning("Archiving %s: %s; it will be tried again", archiving_id, exc)
        except Exception:  # noqa: BLE001 - one archiving must not stop the others
            log.exception("Archiving %s failed in the archiver", archiving_id)
        finally:
            with self.lock:
                self.claimed.discard(archiving_id)
                self.started.pop(archiving_id, None)
            wake()

    def _time_out(self, db: Database) -> None:
        limit = archiving.ATTEMPT_TIMEOUT.total_seconds()
        now = time.monotonic()
        with self.lock:
            late = [i for i, t in self.started.items() if now - t > limit]
            for i in late:
                self.started.pop(i, None)
                self.claimed.discard(i)
        for i in late:
            message = (
                "Possibly-permanent archiver error: no answer within "
                f"{duration_to_iso(archiving.ATTEMPT_TIMEOUT)}"
            )
            archiving.record_outcome(
                db, {"archiving_id": i}, self.holder, archiving.Outcome(False, message)
            )

    def _renew(self, db: Database) -> None:
        if time.monotonic() - self.last_renew < RENEW_EVERY:
            return
        with self.lock:
            ids = list(self.claimed)
        archiving.renew(db, self.holder, ids)
        self.last_renew = time.monotonic()

    # ------------------------------------------------------------------ the loop

    def step(self, db: Database, notes) -> float:  # noqa: ARG002 - every note means "look"
        self.refresh_defaults(db)
        expired = archiving.expire(db)
        if expired:
            log.info("%d archiving(s) expired (time to live)", expired)
        self._time_out(db)
        self._renew(db)
        with self.lock:
            free = self.queue - len(self.claimed)
        if free <= 0:
            return REFRESH  # a finishing attempt wakes the loop
        rows = archiving.claim(db, self.holder, free)
        if rows:
            task_rows = self._task_rows(db, {r["task_uuid"] for r in rows})
            with self.lock:
                self.claimed.update(r["archiving_id"] for r in rows)
            for row in rows:
                self.pool.submit(self._work, db, row, task_rows.get(row["task_uuid"]))
        if len(rows) == free:
            return REFRESH  # more may be due; completions wake the loop
        wait = archiving.next_due(db, self.holder)
        return REFRESH if wait is None else min(wait, REFRESH)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def main(config: Config) -> int:
    # The plugins read the archive destination policy from the environment (they may import
    # only the toolkit); a process started alone with flags gets it here.
    os.environ[destinations.ALLOW_ENV] = config.archive_allow
    os.environ[destinations.DENY_ENV] = config.archive_deny
    os.environ["PSCHEDULER_LISTEN"] = config.listen  # the node's own API is never a destination
    archiver = Archiver(config)
    try:
        # Our predecessor (its pid is still in the heartbeat row) is dead: its claims are free.
        db = Database(config.dsn or "", "pscheduler-archiver-boot", maxconn=1)
        try:
            released = archiving.release_previous(db)
        finally:
            db.close()
        if released:
            log.warning("Took back %d archiving(s) a previous archiver left in flight", released)
    except DatabaseUnavailable as exc:
        log.warning("Could not release a previous archiver's claims (%s); leases will expire", exc)
    try:
        return run_loop(
            "archiver",
            config,
            ["archiver_wake", "archiving_change"],
            archiver.step,
            refresh=REFRESH,
        )
    finally:
        archiver.shutdown()
