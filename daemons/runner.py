"""The runner daemon: claims runs ahead of time in batches and starts each at its start time.

The loop (woken by NOTIFY run_new and run_state) puts the pending runs due within
``CLAIM_AHEAD`` on deck for this runner in one statement and hands them to a starter thread,
which sleeps until the earliest start and then starts every run due in that moment in one
statement.  A waiting run costs a heap entry, not a thread; a started run is executed by a
bounded worker pool, except a run that only waits (an idle test), which is held as a timer
(pscheduler.runs.timers); runs that end together are stored together (pscheduler.runs.finish).
A runner killed after claiming loses nothing: its successor hands the on-deck runs back to
pending at start (``stuck.recover``) and claims them again.
"""

from __future__ import annotations

import collections
import datetime as dt
import heapq
import json
import logging
import os
import threading
import uuid

from pscheduler_daemons.loop import install_stop_handlers, run_loop

from pscheduler.config import Config
from pscheduler.db import Database, DatabaseUnavailable
from pscheduler.runs import execute as running
from pscheduler.runs import finish as finishing
from pscheduler.runs import gather as gathering
from pscheduler.runs import stuck
from pscheduler.runs.timers import Timers
from pscheduler.tasks import mesh as tasking
from pscheduler.toolkit.iso8601 import utcnow

log = logging.getLogger(__name__)

CLAIM_AHEAD = dt.timedelta(seconds=5)  # how long before its start a run goes on deck
CLAIM_BATCH = 1000
WORKERS = 1024  # runs executing at once (each holds a worker for the run's duration)
RETRY = 0.5  # seconds before trying again to start runs when the database failed us
GIVE_UP = 60.0  # seconds after its start a run that could not be started is left to the ticker


class Pool:
    """A bounded pool of daemon worker threads, started as needed and kept.

    Daemon threads, unlike ``ThreadPoolExecutor``'s: a stopping runner does not wait for
    runs in progress (its successor marks them failed, as before)."""

    def __init__(self, size: int, name: str):
        self.size, self.name = size, name
        self.jobs: collections.deque = collections.deque()
        self.cond = threading.Condition()
        self.threads = 0
        self.waiting = 0  # workers waiting for a job

    def submit(self, fn, *args) -> None:
        with self.cond:
            self.jobs.append((fn, args))
            if self.waiting >= len(self.jobs):
                self.cond.notify()
                return
            if self.threads >= self.size:
                return  # queued until a worker is free
            self.threads += 1
            name = f"{self.name}-{self.threads}"
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _serve(self) -> None:
        while True:
            with self.cond:
                self.waiting += 1
                while not self.jobs:
                    self.cond.wait()
                self.waiting -= 1
                fn, args = self.jobs.popleft()
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - jobs log their own failures
                log.exception("Worker job failed")


class Runner:
    def __init__(self, stop: threading.Event, config: Config | None = None):
        self.stop = stop
        self.config = config
        self.local_node = config.api_url if config is not None else None
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        # Runs on deck or running here, with the event that cancels each.
        self.in_flight: dict[int, running.Stop] = {}
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.deck: list[tuple[dt.datetime, int]] = []  # heap of (start, run id)
        self.recovered = False
        self.pool = Pool(WORKERS, "run")
        self.timers: Timers | None = None  # the runs that only wait, until their ends
        self.db = None  # the loop's pool, for the runs' work
        self.finisher: finishing.Finisher | None = None  # stores ended runs in batches
        self.start_db = None  # connections of the starter alone: never queued behind runs
        self.starter = threading.Thread(target=self._start_loop, name="starter", daemon=True)

    # ------------------------------------------------------------------ starting on time

    def _start_loop(self) -> None:
        """Sleep until the earliest run on deck is due, then start every run due by then."""
        while not self.stop.is_set():
            with self.changed:
                if not self.deck:
                    self.changed.wait(10.0)
                    continue
                delay = (self.deck[0][0] - utcnow()).total_seconds()
                if delay > 0:
                    self.changed.wait(delay)
                    continue
                now = utcnow()
                due: list[tuple[dt.datetime, int]] = []
                while self.deck and self.deck[0][0] <= now:
                    due.append(heapq.heappop(self.deck))
            try:
                self._start(due)
            except Exception:  # noqa: BLE001 - the starter must outlive any one batch
                log.exception("Starting %d run(s) failed", len(due))

    def _start(self, due: list[tuple[dt.datetime, int]]) -> None:
        ids = [run_id for _, run_id in due if run_id in self.in_flight]
        if not ids:
            return
        try:
            started = running.start_many(self.start_db or self.db, ids, self.token)
        except DatabaseUnavailable as exc:
            self._retry_later(due, exc)
            return
        except Exception as exc:  # noqa: BLE001 - the runs stay on deck; try again shortly
            log.exception("Starting %d run(s) failed", len(ids))
            self._retry_later(due, exc)
            return
        for run in started:
            cancel = self.in_flight[run["id"]]
            timed = running.timed_outcome(run, self.local_node)
            if timed is None:
                self.pool.submit(self._work, run, cancel)
            else:
                self._hold(run, cancel, *timed)
        unstarted = set(ids) - {run["id"] for run in started}
        for run_id in unstarted:
            try:
                running.settle_unstarted(self.db, run_id)
            except Exception:  # noqa: BLE001 - the ticker marks it missed in the end
                log.exception("Run %s could not start", run_id)
            with self.lock:
                self.in_flight.pop(run_id, None)

    def _retry_later(self, due: list[tuple[dt.datetime, int]], exc: Exception) -> None:
        now = utcnow()
        with self.changed:
            for start, run_id in due:
                if (now - start).total_seconds() < GIVE_UP:
                    heapq.heappush(self.deck, (now + dt.timedelta(seconds=RETRY), run_id))
                else:
                    self.in_flight.pop(run_id, None)  # the ticker marks it missed
            self.changed.notify()
        log.warning("Could not start %d run(s) (%s); retrying", len(due), exc)

    def _work(self, run: dict, cancel: running.Stop) -> None:
        run_id = run["id"]
        try:
            state = running.execute_claimed(
                self.db,
                run,
                cancel,
                self.finisher,
                collect_remote=self._collector(self.db),
                local_node=self.local_node,
            )
            if state == "failed" and self.config is not None:
                gathering.record_clock_survey(
                    self.db, run_id, self.config.node_address, tasking.default_bind(self.config)
                )
            log.debug("Run %s ended %s", run_id, state)
        except Exception:  # noqa: BLE001 - one run's failure must not stop the others
            log.exception("Run %s failed in the runner", run_id)
        finally:
            with self.lock:
                self.in_flight.pop(run_id, None)

    def _hold(self, run: dict, cancel: running.Stop, end: dt.datetime, result: dict) -> None:
        """A run that only waits: a timer until its end, then its known result is stored
        (merged too: it has one participant) with whatever else ended then; a cancel ends it
        at once, as a cancelled tool would."""
        run_id = run["id"]

        def stored(state: str | None, error: BaseException | None) -> None:
            if error is not None:  # it stays running: the ticker ends it
                log.error("Run %s could not be stored: %s", run_id, error)
            log.debug("Run %s ended %s", run_id, state)
            with self.lock:
                self.in_flight.pop(run_id, None)

        def ended() -> None:
            errors = None if result["succeeded"] else result.get("error")
            self.finisher.submit(run, 0, result, errors, "cleanup", True, stored)

        def cancelled() -> None:
            if self.timers.cancel(run_id):
                why = "Run was cancelled."
                failure = {"succeeded": False, "error": why}
                self.finisher.submit(run, 2, failure, why, "canceled", False, stored)

        self.timers.add(end, run_id, ended)
        cancel.on_set(cancelled)

    def _collector(self, db, budget: float = gathering.BUDGET):
        """Gathers the other participants' results for the lead's merge (multi-participant)."""
        bind = tasking.default_bind(self.config) if self.config is not None else None
        return gathering.collector(db, bind, budget=budget)

    # ------------------------------------------------------------------ the loop

    def step(self, db, notes) -> float:
        if not self.recovered:
            # Runs a previous runner left running fail; those it left in cleanup are merged.
            found = stuck.recover(db, self._collector(db, budget=stuck.GATHER_AFTER))
            if any(found.values()):
                log.warning(
                    "Runs a previous runner left behind: %(failed)d failed, "
                    "%(cleanup)d merged from their stored results",
                    found,
                )
            self.recovered = True
            self.db = db
            self.finisher = finishing.Finisher(db)
            self.timers = Timers()
            self.starter.start()
        for note in notes:
            if note.channel == "run_state":
                try:
                    payload = json.loads(note.payload)
                except ValueError:
                    continue
                if payload.get("new") in ("canceled", "preempted"):
                    with self.lock:
                        event = self.in_flight.get(payload.get("id"))
                    if event is not None:
                        event.set()
        while True:
            claimed = db.all(
                "runs_to_deck", {"runner": self.token, "ahead": CLAIM_AHEAD, "limit": CLAIM_BATCH}
            )
            if claimed:
                with self.changed:
                    for row in claimed:
                        self.in_flight[row["id"]] = running.Stop()
                        heapq.heappush(self.deck, (row["start"], row["id"]))
                    self.changed.notify()
            if len(claimed) < CLAIM_BATCH:
                break
        nxt = db.one("next_pending_start")
        if not nxt or nxt["start"] is None:
            return 10.0
        wait = (nxt["start"] - CLAIM_AHEAD - utcnow()).total_seconds()
        # A pending run already within reach was locked by someone else (SKIP LOCKED): look
        # again shortly rather than at once.
        return max(0.2 if not claimed else 0.0, wait)

    def shutdown(self) -> None:
        """Hand back the runs on deck that did not start, so none waits for the ticker."""
        with self.changed:
            self.deck.clear()
            self.changed.notify()
        if self.start_db is None:
            return
        try:
            released = running.release_deck(self.start_db, self.token)
            if released:
                log.info("Handed back %d on-deck run(s)", released)
        except Exception as exc:  # noqa: BLE001 - the successor's recovery hands them back
            log.warning("Could not hand back on-deck runs: %s", exc)
        self.start_db.close()


def main(config: Config) -> int:
    stop = install_stop_handlers()
    runner = Runner(stop, config)
    runner.start_db = Database(config.dsn or "", "pscheduler-runner-start", maxconn=2)
    try:
        return run_loop(
            "runner", config, ["run_new", "run_state"], runner.step, refresh=10.0, stop=stop
        )
    finally:
        runner.shutdown()
