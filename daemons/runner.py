"""The runner daemon: starts each run at its start time and runs its tool in a thread.

Each due run gets a thread that waits for the exact start (on an event, not a poll), claims
the run in the database and runs the tool.  New runs (NOTIFY run_new) and cancellations
(NOTIFY run_state) wake the loop at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time

from pscheduler_daemons.loop import install_stop_handlers, run_loop

from pscheduler.config import Config
from pscheduler.runs import execute as running
from pscheduler.runs import gather as gathering
from pscheduler.runs import stuck
from pscheduler.tasks import mesh as tasking
from pscheduler.toolkit.iso8601 import utcnow

log = logging.getLogger(__name__)

LOOKAHEAD = dt.timedelta(seconds=30)


class Runner:
    def __init__(self, stop: threading.Event, config: Config | None = None):
        self.stop = stop
        self.config = config
        self.local_node = config.api_url if config is not None else None
        self.in_flight: dict[int, threading.Event] = {}
        self.lock = threading.Lock()
        self.recovered = False
        self.errored: dict[int, float] = {}

    def _work(self, db, run_id: int, start: dt.datetime, cancel: threading.Event) -> None:
        try:
            delay = (start - utcnow()).total_seconds()
            if delay > 0 and (cancel.wait(delay) or self.stop.is_set()):
                return
            state = running.execute(
                db, run_id, cancel, collect_remote=self._collector(db), local_node=self.local_node
            )
            if state == "failed" and self.config is not None:
                gathering.record_clock_survey(
                    db, run_id, self.config.node_address, tasking.default_bind(self.config)
                )
            log.debug("Run %s ended %s", run_id, state)
        except Exception:  # noqa: BLE001 - one run's failure must not stop the others
            log.exception("Run %s failed in the runner", run_id)
            with self.lock:
                self.errored[run_id] = time.monotonic()
        finally:
            with self.lock:
                self.in_flight.pop(run_id, None)

    def _collector(self, db, budget: float = gathering.BUDGET):
        """Gathers the other participants' results for the lead's merge (multi-participant)."""
        bind = tasking.default_bind(self.config) if self.config is not None else None
        return gathering.collector(db, bind, budget=budget)

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
        for row in db.all("due_runs", {"lookahead": LOOKAHEAD}):
            with self.lock:
                if row["id"] in self.in_flight:
                    continue
                if time.monotonic() - self.errored.get(row["id"], -1e9) < 5.0:
                    continue  # it just failed in here; the ticker will mark it missed
                cancel = threading.Event()
                self.in_flight[row["id"]] = cancel
            threading.Thread(
                target=self._work,
                args=(db, row["id"], row["start"], cancel),
                name=f"run-{row['id']}",
                daemon=True,
            ).start()
        nxt = db.one("next_pending_start")
        if not nxt or nxt["start"] is None:
            return 10.0
        return max(0.0, (nxt["start"] - LOOKAHEAD - utcnow()).total_seconds())


def main(config: Config) -> int:
    stop = install_stop_handlers()
    runner = Runner(stop, config)
    return run_loop(
        "runner", config, ["run_new", "run_state"], runner.step, refresh=10.0, stop=stop
    )
