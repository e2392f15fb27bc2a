"""Storing the outcomes of runs that end together in one transaction, not two per run.

A node with 1,000 tasks repeating every minute has 1,000 runs end within a second or two.
Each stored its participant result (running -> cleanup) and then its merged result
(cleanup -> finished) in a transaction of its own: 2,000 commits, each with its triggers'
event rows and counter deltas, sharing the machine with the next runs' starts and the API.
Here the runs' workers hand their outcomes to one finisher thread, which stores every
outcome waiting in one statement, and then, for the runs whose merge needs nobody else's
result (one participant), every merge in a second one.  The states and events are the same
as before (cleanup still comes between), and a runner killed between the two statements
leaves its runs in cleanup for pscheduler.runs.stuck, as before.  A worker waits for its
batch (its run's worker is held for the run anyway); a run held as a timer
(pscheduler.runs.timers) has no worker, and is told through a callback instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg2.errors
from psycopg2.extras import Json

from pscheduler.db import Database, DatabaseUnavailable, query
from pscheduler.runs.execute import final_state, merge
from pscheduler.toolkit import killpoint

log = logging.getLogger(__name__)

BATCH_MAX = 500
ATTEMPTS = 3  # a batch that meets a deadlock (with the ticker's batches) is tried again


@dataclass(eq=False)
class _Outcome:
    run: dict
    status: int
    result: dict
    errors: str | None
    state: str  # what the run's local store moves it to
    merge_here: bool  # a lead whose merge takes only its own result
    done: threading.Event = field(default_factory=threading.Event)
    stored: str | None = None  # the run's state once stored (None: no longer the runner's)
    error: BaseException | None = None
    then: Callable[[str | None, BaseException | None], None] | None = None


class Finisher:
    """One per runner: ``store`` blocks until the outcome is stored with its batch."""

    def __init__(self, db: Database):
        self.db = db
        self._waiting: list[_Outcome] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="finisher", daemon=True)
        self._thread.start()

    def store(
        self,
        run: dict,
        status: int,
        result: dict,
        errors: str | None,
        state: str,
        merge_here: bool,
    ) -> str | None:
        """Store a run's local outcome (and, with ``merge_here``, its merge); returns the
        run's state then, or None if the ticker ended the run meanwhile.  Raises what the
        database raised (the run then stays running, for the ticker)."""
        outcome = self.submit(run, status, result, errors, state, merge_here)
        outcome.done.wait()
        if outcome.error is not None:
            raise outcome.error
        return outcome.stored

    def submit(
        self,
        run: dict,
        status: int,
        result: dict,
        errors: str | None,
        state: str,
        merge_here: bool,
        then: Callable[[str | None, BaseException | None], None] | None = None,
    ) -> _Outcome:
        """``store`` without waiting: ``then(state, error)`` is called from the finisher's
        thread once the batch is stored (it must not block the next batch for long)."""
        outcome = _Outcome(run, status, result, errors, state, merge_here, then=then)
        with self._cond:
            self._waiting.append(outcome)
            self._cond.notify()
        return outcome

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._waiting:
                    self._cond.wait()
                batch, self._waiting = self._waiting[:BATCH_MAX], self._waiting[BATCH_MAX:]
            try:
                self._store(batch)
            except BaseException as exc:  # noqa: BLE001 - every waiting worker is told
                for outcome in batch:
                    outcome.error = exc
            for outcome in batch:
                outcome.done.set()
                if outcome.then is not None:
                    try:
                        outcome.then(outcome.stored, outcome.error)
                    except Exception:  # noqa: BLE001 - the next batch must still be stored
                        log.exception("Run %s: after storing its outcome", outcome.run["id"])

    def _store(self, batch: list[_Outcome]) -> None:
        outcomes = {
            o.run["id"]: {
                "status": o.status,
                "result": o.result,
                "errors": o.errors,
                "state": o.state,
            }
            for o in batch
        }
        states = self._statement("runs_store_local_many", outcomes)
        for o in batch:
            o.stored = states.get(o.run["id"])
        # Between the two statements the runs are in cleanup with their local results
        # stored; a runner dying here leaves them to pscheduler.runs.stuck.
        killpoint.reached("execute-stored")
        merging = [o for o in batch if o.merge_here and o.stored == "cleanup"]
        if not merging:
            return
        merged = {o.run["id"]: merge(o.run, [o.result]) for o in merging}
        finals = {i: final_state(m) for i, m in merged.items()}
        outcomes = {
            o.run["id"]: {
                "result_full": [o.result],
                "result_merged": merged[o.run["id"]],
                "state": finals[o.run["id"]],
            }
            for o in merging
        }
        states = self._statement("runs_store_merged_many", outcomes)
        for o in merging:
            # No row: the ticker stored a merge first (its result stands), as in execute.
            o.stored = states.get(o.run["id"], finals[o.run["id"]])

    def _statement(self, name: str, outcomes: dict[int, dict]) -> dict[int, str]:
        attempt = 1
        while True:
            try:
                with self.db.transaction() as cur:
                    cur.execute(query(name), {"outcomes": Json(outcomes), "ids": list(outcomes)})
                    return {row["id"]: row["state"] for row in cur.fetchall()}
            except DatabaseUnavailable as exc:  # how the pool reports a deadlock, too
                deadlock = isinstance(exc.__cause__, psycopg2.errors.DeadlockDetected)
                if not deadlock or attempt == ATTEMPTS:
                    raise
            log.warning("Storing %d run outcome(s) met a deadlock; trying again", len(outcomes))
            attempt += 1
