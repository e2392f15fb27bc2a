"""The way out of every transitional run state (DESIGN property 9).

A run left behind by a dead runner, a lost database write or an outage is never left for a
person to find:

* ``pending``/``on-deck`` past its start plus the straggle → ``missed``;
* ``running`` past its end plus the straggle → ``overdue`` (``failed`` at a runner's start,
  when nobody can still be running it);
* ``cleanup`` (local result stored, merge never stored) → finished from what was stored: the
  participants' results merged by the tool, ``finished`` or ``failed`` as the merge says.

A run that ends without a result gets ``{"succeeded": false, "error": "<reason>"}`` as its
result, and on the lead as its merged result too, so it is archived like any failed run, to
the archives whose ``runs`` takes failed runs (``failed`` or ``all``), exactly once: the
archivings are made by the database when the merged result first appears.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from psycopg2.extras import Json

from pscheduler.db import Database
from pscheduler.runs import execute as running

log = logging.getLogger(__name__)

# Beyond the end plus the straggle, how long a lead may still be gathering its participants'
# results before its cleanup counts as stuck (the runner's gathering budget, and some).
GATHER_GRACE = dt.timedelta(seconds=30)
# Seconds a stuck multi-participant cleanup may wait for the participants' stored results
# (they ended long ago: a participant that has one answers at once).
GATHER_AFTER = 2.0
# Runs marked missed per statement: a node back from an outage may have thousands, and one
# transaction for all of them would hold their rows and the ticker for as long.
MISSED_BATCH = 1000

Collector = Callable[[dict, dict], list]


def sweep(db: Database, collect_remote: Collector | None = None) -> dict[str, int]:
    """The ticker's pass: mark runs past their deadline, finish stuck cleanups; counts."""
    missed = 0
    cutoff = db.one("missed_cutoff")["cutoff"]
    while True:
        marked = len(db.all("mark_missed", {"cutoff": cutoff, "limit": MISSED_BATCH}))
        missed += marked
        if marked < MISSED_BATCH:
            break
    overdue = len(db.all("mark_overdue"))
    finished = finish_cleanups(db, collect_remote, every=False)
    return {"missed": missed, "overdue": overdue, "cleanup": finished}


def next_deadline(db: Database) -> float | None:
    """Seconds until ``sweep`` has something to do (0 if overdue already; None: nothing)."""
    row = db.one("runs_next_deadline", {"grace": GATHER_GRACE})
    if row is None or row["wait"] is None:
        return None
    return max(0.0, float(row["wait"]))


def recover(db: Database, collect_remote: Collector | None = None) -> dict[str, int]:
    """At a runner's start: runs the previous runner left running fail; those it only put
    on deck had not started and go back to pending; cleanups finish."""
    db.all("runs_release_deck", {"runner": None})
    orphans = len(db.all("runs_orphaned"))
    finished = finish_cleanups(db, collect_remote, every=True)
    return {"failed": orphans, "cleanup": finished}


def finish_cleanups(db: Database, collect_remote: Collector | None, every: bool) -> int:
    """Finish runs stuck in ``cleanup`` (past their deadline, or ``every`` one); how many."""
    done = 0
    for run in db.all("runs_in_cleanup", {"every": every, "grace": GATHER_GRACE}):
        try:
            done += finish_cleanup(db, run, collect_remote)
        except Exception:  # noqa: BLE001 - one bad run must not keep the others stuck
            log.exception("Run %s: could not finish its cleanup", run["id"])
            done += _fail(db, run, "The run's result could not be merged after an interruption")
    return done


def finish_cleanup(db: Database, run: dict, collect_remote: Collector | None = None) -> int:
    """Merge what was stored for one run in ``cleanup`` and store it; 1 if this did it."""
    local = run["result"]
    if not isinstance(local, dict):
        return _fail(db, run, "The run's local result was lost before it could be merged")
    results = [local]
    if len(run["participants"]) > 1:
        if collect_remote is not None:
            results = collect_remote(run, local)
        else:
            missing = "The lead stopped before gathering this participant's result"
            results += [{"succeeded": False, "error": missing}] * (len(run["participants"]) - 1)
    merged = running.merge(run, results)
    state = running.final_state(merged)
    row = db.one(
        "run_finish_cleanup",
        {
            "id": run["id"],
            "result_full": Json(results),
            "result_merged": merged,
            "state": state,
            "errors": None if state == "finished" else merged.get("error"),
        },
    )
    if row is not None:
        log.warning("Run %s was stuck in cleanup: merged what was stored (%s)", run["id"], state)
    return 1 if row is not None else 0


def _fail(db: Database, run: dict, reason: str) -> int:
    failure = {"succeeded": False, "error": reason}
    row = db.one(
        "run_finish_cleanup",
        {
            "id": run["id"],
            "result_full": Json([run["result"]]),
            "result_merged": failure,
            "state": "failed",
            "errors": reason,
        },
    )
    return 1 if row is not None else 0
