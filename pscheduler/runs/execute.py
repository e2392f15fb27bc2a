"""Executing runs: start on time, run the tool in a worker, store and merge the result.

The runner daemon starts its due runs together (``start_many``) and calls ``execute_claimed``
in a worker per run; outcomes are stored in batches (pscheduler.runs.finish).  The database
decides whether the run may start (paused → missed; canceled or preempted → nothing to do), so a restarted
runner, or a second one, can never run the same run twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import threading
import time
import uuid

from psycopg2.extras import Json

from pscheduler import plugins
from pscheduler.db import Database, query
from pscheduler.hookspecs import PluginError
from pscheduler.runs import participant as participant_runs
from pscheduler.toolkit.iso8601 import duration_to_iso, format_timestamp, utcnow
from pscheduler.toolkit.jsonval import schema_error
from pscheduler.toolkit.program import RunControl

log = logging.getLogger(__name__)

# Extra time a tool gets beyond its scheduled end before it is stopped.
OVERRUN = dt.timedelta(seconds=2)


def start_many(db: Database, run_ids: list[int], runner: str) -> list[dict]:
    """Start this runner's on-deck runs whose time has come, in one statement (the burst of
    runs due in the same second costs one round trip); returns the started runs, each as
    ``claim`` returns it.  Runs not returned were not started: see ``settle_unstarted``."""
    with db.transaction() as cur:
        cur.execute(query("runs_start_many"), {"ids": run_ids, "runner": runner})
        return cur.fetchall()


def settle_unstarted(db: Database, run_id: int) -> None:
    """An on-deck run that could not start: missed while runs are paused; anything else
    (canceled, disabled task, taken back by another runner) is left as it is."""
    with db.transaction() as cur:
        cur.execute(query("run_for_execution"), {"id": run_id})
        run = cur.fetchone()
        if run is not None and run["state"] == "on-deck" and run["paused"]:
            cur.execute(query("run_missed_paused"), {"id": run_id})


class Stop(threading.Event):
    """A stop event that also sets the events linked to it, so a waiter can sleep on one
    event for "the tool finished or the run was stopped" instead of polling both, and calls
    the callbacks given to ``on_set`` (a run held as a timer has nothing waiting on it)."""

    def __init__(self) -> None:
        super().__init__()
        self._guard = threading.Lock()
        self._callbacks: list = []

    def link(self, other: threading.Event) -> None:
        self.on_set(other.set)

    def on_set(self, callback) -> None:
        """Call ``callback()`` once, when the event is set (now, if it is set already)."""
        with self._guard:
            if not self.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def set(self) -> None:
        with self._guard:
            super().set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


def _record_emitter(db: Database, task_id: int):
    def emit(record: dict) -> None:
        db.execute(
            "run_insert_result_record", {"uuid": uuid.uuid4(), "task": task_id, "result": record}
        )

    return emit


def _tool_input(run: dict, tool, local_node: str | None) -> dict:
    test = {"type": run["test_type"], "spec": run["task_json"]["test"]["spec"]}
    tool_input = {
        "schema": 1,
        "task-uuid": str(run["task_uuid"]),
        "schedule": {
            "start": format_timestamp(run["start"]),
            "duration": duration_to_iso(run["duration"]),
        },
        "test": test,
        "participant": run["participant"],
        "participant-data": run["part_data_full"] or participant_runs.single_node_data(tool, run),
    }
    if local_node:
        tool_input["local-node"] = local_node
    return tool_input


def timed_outcome(run: dict, local_node: str | None = None) -> tuple[dt.datetime, dict] | None:
    """When a run that only waits ends and what it reports (its tool's ``timed``), so the
    runner can hold it as a timer; None when it must be run: a tool without ``timed``, one
    that declines or answers something unusable, or a run that reports as it goes
    (background-multi) or merges with other participants' results."""
    tool = plugins.registry().tools.get(run["tool"])
    if tool is None or tool.timed is None:
        return None
    if run["scheduling_class"] == "background-multi" or len(run["participants"]) > 1:
        return None
    try:
        timed = plugins.call(tool, "timed", _tool_input(run, tool, local_node))
    except (PluginError, plugins.PluginFailure):
        return None  # ``run`` will say what is wrong
    return usable_timed(timed)


def usable_timed(timed) -> tuple[dt.datetime, dict] | None:
    """A tool's ``timed`` answer if the runner can hold it: (an aware datetime, a participant
    result); anything else (a third party's mistake) makes the run go through ``run``, rather
    than break the starter or the timers' heap."""
    if not isinstance(timed, tuple) or len(timed) != 2:
        return None
    end, result = timed
    if not isinstance(end, dt.datetime) or end.utcoffset() is None:
        return None
    if not isinstance(result, dict) or not isinstance(result.get("succeeded"), bool):
        return None
    return end, result


def run_tool(
    db: Database, run: dict, stop: threading.Event, local_node: str | None = None
) -> tuple[int, dict, str | None]:
    """Run the tool; returns (status, participant result, errors).

    ``local_node`` (this node's API base URL) reaches the tool as the input's ``local-node``,
    for tools that talk to their own node (psclock asks it for its clock).
    """
    tool = plugins.registry().tools.get(run["tool"])
    if tool is None:
        return 1, {"succeeded": False, "error": f"Tool {run['tool']} is not available"}, None
    task = run["task_json"]
    tool_input = _tool_input(run, tool, local_node)
    remaining = (run["end"] + OVERRUN - utcnow()).total_seconds()
    tmpdir = tempfile.mkdtemp(prefix="pscheduler-run-")
    wrappers = []
    for entry in _contexts_for(task, run["participant"]):
        context = plugins.registry().contexts.get(entry["context"])
        if context is not None:
            wrappers.append(lambda argv, c=context, d=entry.get("data"): c.wrap(d, argv))
    # The tool has its own stop event: set on cancel (``stop``) and on timeout alike, while
    # ``stop`` itself keeps meaning "cancelled" for the caller.
    tool_stop = threading.Event()
    deadline = time.monotonic() + max(remaining, 1.0)
    control = RunControl(deadline=deadline, stop=tool_stop, tmpdir=tmpdir, wrappers=wrappers)
    if run["scheduling_class"] == "background-multi":
        control.emit = _record_emitter(db, run["task_id"])
    outcome: dict = {}

    finished = threading.Event()

    def work() -> None:
        try:
            outcome["result"] = plugins.call(tool, "run", tool_input, control)
        except (PluginError, plugins.PluginFailure) as exc:
            outcome["error"] = str(exc)
        finally:
            finished.set()

    worker = threading.Thread(target=work, name=f"tool-{run['uuid']}", daemon=True)
    worker.start()
    if isinstance(stop, Stop):
        stop.link(finished)  # a cancel wakes the wait below: no polling per running run
        finished.wait(max(0.0, deadline - time.monotonic()))
    while worker.is_alive() and time.monotonic() < deadline and not stop.is_set():
        worker.join(0.05)
    try:
        if worker.is_alive():
            tool_stop.set()
            worker.join(2.0)
            if stop.is_set():
                return 2, {"succeeded": False, "error": "Run was cancelled."}, "Run was cancelled."
            return (
                2,
                {"succeeded": False, "error": "Process took too long to run."},
                "Process took too long to run.",
            )
        if "error" in outcome:
            return (
                1,
                {"succeeded": False, "error": f"Tool failed: {outcome['error']}"},
                outcome["error"],
            )
        result = outcome.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("succeeded"), bool):
            return (
                1,
                {"succeeded": False, "error": f"Tool {run['tool']} returned an invalid result"},
                None,
            )
        return 0, result, result.get("error") if not result.get("succeeded") else None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _contexts_for(task: dict, participant: int) -> list[dict]:
    lists = (task.get("contexts") or {}).get("contexts") or []
    return lists[participant] if participant < len(lists) else []


def merge(run: dict, results: list) -> dict:
    """The tool's merge of every participant's result, validated against the test's schema."""
    tool = plugins.registry().tools.get(run["tool"])
    test_obj = {"type": run["test_type"], "spec": run["task_json"]["test"]["spec"]}
    try:
        merged = plugins.merged_results(tool, test_obj, results)
    except (PluginError, plugins.PluginFailure) as exc:
        return {"succeeded": False, "error": f"Tool {run['tool']} failed to merge results: {exc}"}
    if not isinstance(merged, dict) or not isinstance(merged.get("succeeded"), bool):
        return {
            "succeeded": False,
            "error": f"Tool {run['tool']} merged the results into nothing usable",
        }
    test = plugins.registry().tests.get(run["test_type"])
    if merged["succeeded"] and test is not None and test.result_schema is not None:
        error = schema_error(test.result_schema, merged)
        if error:
            return {
                "succeeded": False,
                "error": f"The merged result is invalid: {error}",
                "diags": str(merged)[:2000],
            }
    return merged


def final_state(merged: dict) -> str:
    """The state a run's merged result gives it."""
    return "finished" if merged.get("succeeded") else "failed"


def execute_claimed(
    db: Database,
    run: dict,
    stop: threading.Event,
    finisher,
    collect_remote=None,
    local_node: str | None = None,
) -> str | None:
    """Run, store and (on the lead) merge one run already moved to running.

    The outcome is stored by ``finisher`` (pscheduler.runs.finish) with those of the other
    runs that ended meanwhile, and merged there too when no other participant's result is
    needed; a lead that needs them gathers and merges here."""
    status, result, errors = run_tool(db, run, stop, local_node)
    lead = run["participant"] == 0
    multi_result = run["scheduling_class"] == "background-multi"
    if stop.is_set() and status != 0:
        state = "canceled"
    elif not lead or multi_result:
        state = "finished"
    else:
        # The lead waits in cleanup until its merge is stored, whatever the tool's exit: a
        # runner dying in between leaves one state for pscheduler.runs.stuck to finish
        # (the original went to failed or finished here, and such a run was never merged).
        state = "cleanup"
    alone = len(run["participants"]) <= 1 or collect_remote is None
    stored = finisher.store(run, status, result, errors, state, lead and alone)
    if stored != "cleanup":
        return stored  # None (the ticker ended it), final (merged too), or canceled
    # Still in cleanup: a lead whose merge takes the other participants' results.
    results = collect_remote(run, result)
    merged = merge(run, results)
    final = final_state(merged)
    with db.transaction() as cur:
        cur.execute(
            query("run_store_merged"),
            {
                "id": run["id"],
                "result_full": Json(results),
                "result_merged": merged,
                "clock_survey": None,
                "state": final,
            },
        )
        row = cur.fetchone()
    return row["state"] if row else final


def release_deck(db: Database, runner: str) -> int:
    """A stopping runner hands back the runs it put on deck but did not start."""
    with db.transaction() as cur:
        cur.execute(query("runs_release_deck"), {"runner": runner})
        return len(cur.fetchall())
