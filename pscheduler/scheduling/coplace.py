"""Placing runs of tasks that have other participants (spec/scheduling.md §2.4–2.6).

The lead asks every participant for its free time (in parallel), intersects it with its own,
takes the earliest common start (or a random one with ``sliprand``), holds it on its own
timeline as a hidden ``scheduling`` run, then puts the run on every participant under the
same UUID, gathers and distributes the participant data, and finally makes its run pending.
Each node's exclusion constraint keeps its own timeline free of conflicts, so two leads
racing for the same time both learn of it (409) and one of them retries.

A participant that cannot be reached is retried while the run's slip allows; after that the
attempt becomes a non-starter whose reason names the host.  The work runs in threads of the
scheduler daemon (``Coordinator``), so single-node placement never waits on the network.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass

from psycopg2.extras import Json

from pscheduler import plugins
from pscheduler.db import Database
from pscheduler.errors import Conflict, DomainError
from pscheduler.peers import client as peers
from pscheduler.peers import queue as httpqueue
from pscheduler.scheduling import place as scheduling
from pscheduler.scheduling import slots, timing
from pscheduler.toolkit.iso8601 import format_timestamp, parse_timestamp, utcnow

log = logging.getLogger(__name__)

PREPARE = dt.timedelta(seconds=2)  # time the participants get between placement and start
TOLD_BEFORE = dt.timedelta(seconds=0.5)  # everybody must have the run's data this long before
RETRY_UNREACHABLE = 2.0  # seconds before asking an unreachable participant again
CONFLICT_TRIES = 6

Range = tuple[dt.datetime, dt.datetime]


@dataclass
class Outcome:
    placed: bool = False
    nonstart: str | None = None
    retry_in: float | None = None
    calls: int = 0


class _Failed(Exception):
    def __init__(
        self, reason: str, conflict: bool = False, gone: bool = False, final: bool = False
    ):
        super().__init__(reason)
        self.final = final  # no point trying again (limits said no)
        self.reason = reason
        self.conflict = conflict
        self.gone = gone


def intersect(a: list[Range], b: list[Range]) -> list[Range]:
    out = []
    i = j = 0
    a, b = sorted(a), sorted(b)
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if low < high:
            out.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _parse_ranges(found: list[dict], host: str) -> list[Range]:
    try:
        return [(parse_timestamp(r["lower"]), parse_timestamp(r["upper"])) for r in found]
    except (KeyError, TypeError, ValueError):
        raise _Failed(f"{host} returned runtimes that cannot be read") from None


def _window(low: dt.datetime, high: dt.datetime) -> str:
    return f"[{format_timestamp(low)}, {format_timestamp(high)}]"


class _Attempt:
    """One try at putting one run on every participant."""

    def __init__(self, db: Database, task: dict, bind: str | None, limits=None):
        self.limits = limits
        self.db = db
        self.task = task
        self.bind = bind
        self.uuid = str(task["uuid"])
        self.key = task["participant_key"]
        self.others = list(task["participants"][1:])
        self.test = {"type": task["test_type"], "spec": task["json"]["test"]["spec"]}

    def common_ranges(self, low: dt.datetime, high: dt.datetime) -> list[Range]:
        lo, hi = format_timestamp(low), format_timestamp(high)
        remote = peers.parallel(
            self.others, lambda h: peers.runtimes(h, self.uuid, lo, hi, self.bind)
        )
        local = slots.runtimes(self.db, self.task, low, high, None)
        ranges = _parse_ranges(local, "this node")
        if not ranges:
            raise _Failed(f"No free time here in {_window(low, high)}")
        for host, (found, err) in zip(self.others, remote, strict=True):
            if err is not None:
                raise _Failed(str(err), gone=err.status in (404, 410))
            theirs = _parse_ranges(found, host)
            if not theirs:
                raise _Failed(f"No free time on {host} in {_window(low, high)}")
            ranges = intersect(ranges, theirs)
        duration = self.task["duration"]
        common = [r for r in ranges if r[1] - r[0] >= duration]
        if not common:
            raise _Failed(f"No common free time in {_window(low, high)} among {self._names()}")
        return common

    def _names(self) -> str:
        return ", ".join(["this node", *self.others])

    def _participant_data(self, number: int) -> dict:
        tool = plugins.registry().tools.get(self.task["tool"])
        if tool is None or tool.participant_data is None:
            return {}
        try:
            data = plugins.call(tool, "participant_data", self.test, number)
        except Exception as exc:  # noqa: BLE001 - a plugin failure fails this placement only
            raise _Failed(
                f"Tool {self.task['tool']} failed to give participant data: {exc}"
            ) from None
        return data if isinstance(data, dict) else {}

    def put_everywhere(self, start: dt.datetime) -> uuid.UUID:
        run_uuid = uuid.uuid4()
        passed, diags, priority = scheduling.run_limits(self.limits, self.task, start)
        if not passed:
            raise _Failed("Run forbidden by limits:\n" + (diags or ""), final=True)
        try:
            slots.insert_at(
                self.db,
                self.task,
                start,
                state="scheduling",
                run_uuid=run_uuid,
                priority=priority,
                limit_diags=diags,
            )
        except Conflict:
            raise _Failed("This node's timeline is taken at that time", conflict=True) from None
        except DomainError as exc:
            raise _Failed(exc.message) from None
        made: list[str] = []
        try:
            own = self.db.one("run_any_by_uuid", {"task": self.task["id"], "uuid": run_uuid})
            lead_data = self._participant_data(0)
            self.db.execute("run_set_part_data", {"id": own["id"], "part_data": lead_data})
            body = {"start-time": format_timestamp(timing.whole_second(start))}
            ruuid = str(run_uuid)
            puts = peers.parallel(
                self.others, lambda h: peers.put_run(h, self.uuid, ruuid, body, self.key, self.bind)
            )
            made = [h for h, (_, err) in zip(self.others, puts, strict=True) if err is None]
            for _, err in puts:
                if err is not None:
                    raise _Failed(str(err), conflict=err.status == 409, gone=err.status == 404)
            fetched = peers.parallel(
                self.others, lambda h: peers.get_run(h, self.uuid, ruuid, self.key, self.bind)
            )
            full = [lead_data]
            for host, (found, err) in zip(self.others, fetched, strict=True):
                if err is not None:
                    raise _Failed(str(err))
                if isinstance(found, dict) and found.get("state") == "nonstart":
                    raise _Failed(f"{host} refused the run: {found.get('errors')}", final=True)
                data = found.get("participant-data") if isinstance(found, dict) else None
                if data is None:
                    raise _Failed(f"{host} gave no participant data for the run")
                full.append(data)
            distributed = peers.parallel(
                self.others,
                lambda h: peers.put_run(
                    h, self.uuid, ruuid, {"part-data-full": full}, self.key, self.bind
                ),
            )
            for _, err in distributed:
                if err is not None:
                    raise _Failed(str(err))
            if utcnow() + TOLD_BEFORE > start:
                # A participant whose run starts before the participant data reaches it runs
                # without it (an iperf3 server with no port): place it later instead.
                raise _Failed(
                    f"Placing the run took until {format_timestamp(utcnow())}, too close to its "
                    f"start at {format_timestamp(start)}",
                    conflict=True,
                )
            if not self.db.all(
                "run_make_pending", {"uuid": run_uuid, "part_data_full": Json(full)}
            ):
                raise _Failed("The run was removed here while it was being placed")
            return run_uuid
        except _Failed:
            self._undo(run_uuid, made)
            raise
        except Exception:
            self._undo(run_uuid, made)
            raise

    def _undo(self, run_uuid: uuid.UUID, made: list[str]) -> None:
        self.db.execute("run_delete_by_uuid", {"uuid": run_uuid})
        ruuid = str(run_uuid)
        for host, (_, err) in zip(
            made,
            peers.parallel(
                made, lambda h: peers.delete_run(h, self.uuid, ruuid, self.key, self.bind)
            ),
            strict=True,
        ):
            if err is not None:
                httpqueue.enqueue(
                    self.db,
                    "DELETE",
                    peers.url(host, f"/tasks/{self.uuid}/runs/{ruuid}"),
                    {"key": self.key} if self.key else {},
                    self.bind,
                )


def place_one(db: Database, task_id: int, fallback_bind: str | None = None, limits=None) -> Outcome:
    """Place the next run of one multi-participant task (or record why it cannot start)."""
    calls_before = peers.calls_made()
    outcome = _place_one(db, task_id, fallback_bind, limits)
    outcome.calls = peers.calls_made() - calls_before
    return outcome


def _place_one(db: Database, task_id: int, fallback_bind: str | None, limits=None) -> Outcome:
    task = db.one("multi_task", {"id": task_id})
    if task is None or not task["enabled"] or task["next_ideal"] is None:
        return Outcome()
    bind = task["lead_bind"] or fallback_bind
    duration = task["duration"]
    repeat, cron = task["repeat"], task["repeat_cron"]
    slip = timing.effective_slip(task["slip"], duration, repeat)
    was = task["next_ideal"]
    ideal = was
    now = utcnow()
    earliest = timing.whole_second(now + task["run_start_margin"] + PREPARE, up=True)
    asap = task["runs"] == 0 and task["start"] is None
    if asap:
        ideal = max(ideal, earliest)  # "as soon as possible" means once everybody can be told
    while ideal is not None and ideal + slip < earliest:
        ideal = timing.next_ideal(ideal, earliest, repeat, cron)  # never back-fill
    if ideal is None or (task["until"] is not None and ideal >= task["until"]):
        db.all("multi_set_next_ideal", {"id": task_id, "next_ideal": None, "was": was})
        return Outcome()
    attempt = _Attempt(db, task, bind, limits)
    low, high = max(ideal, earliest), ideal + slip + duration
    reason = None
    run_end = None
    placed = False
    prepare = PREPARE
    for tries in range(1, CONFLICT_TRIES + 1):
        began = utcnow()
        try:
            common = attempt.common_ranges(low, high)
            start = scheduling.choose_start(common, duration, task["sliprand"])
            attempt.put_everywhere(start)
            run_end = start + duration
            placed = True
            break
        except _Failed as exc:
            reason = exc.reason
            if exc.gone:
                log.warning(
                    "Task %s is gone on a participant (%s); cancelling it", task["uuid"], reason
                )
                slots.withdraw(db, task)
                return Outcome(nonstart=reason)
            if exc.final:
                break
            retry_at = utcnow() + dt.timedelta(seconds=RETRY_UNREACHABLE) + task["run_start_margin"]
            if exc.conflict and tries < CONFLICT_TRIES:
                # A slow placement (loaded peers) gets more time before the start next time.
                prepare = max(prepare, (utcnow() - began) * 1.5)
                time.sleep(random.uniform(0.05, 0.3 * tries))
                low = max(
                    low, timing.whole_second(utcnow() + task["run_start_margin"] + prepare, up=True)
                )
                if asap:
                    high = max(high, low + slip + duration)  # no window to miss
                if low + duration <= high:
                    continue
            elif not exc.conflict and retry_at + PREPARE < ideal + slip:
                log.info(
                    "Task %s: %s; trying again in %.0f s", task["uuid"], reason, RETRY_UNREACHABLE
                )
                return Outcome(retry_in=RETRY_UNREACHABLE)
            if exc.conflict:
                reason = f"Gave up after {tries} scheduling conflict(s): {reason}"
            break
    if run_end is None:
        db.execute(
            "run_nonstart_insert",
            {
                "uuid": uuid.uuid4(),
                "task": task_id,
                "start": ideal,
                "end": ideal + duration,
                "priority": task["priority"],
                "errors": reason,
            },
        )
        run_end = ideal + duration
    nxt = timing.next_ideal(ideal, max(run_end, ideal + dt.timedelta(seconds=1)), repeat, cron)
    db.all("multi_set_next_ideal", {"id": task_id, "next_ideal": nxt, "was": was})
    return Outcome(placed=placed, nonstart=None if placed else reason)


class Coordinator:
    """Runs placements for multi-participant tasks in threads of the scheduler daemon.

    At most ``MAX_PLACING`` at once: in a 16-node mesh every node's 15 throughput tasks placed
    at once, each retrying every 2 s, kept every node's API too busy to answer the others --
    a retry storm in which almost nothing was placed (7 placements for 97 retries on one
    node; 44 for 88 with the bound, on a machine at load 200).  (A growing back-off on retries
    was tried too, but it outlasts short slips: a participant's outage then shows late.)
    """

    MAX_PLACING = 4

    def __init__(self, fallback_bind: str | None = None, limits=None):
        self.bind = fallback_bind
        self.limits = limits
        self.in_flight: set[int] = set()
        self.not_before: dict[int, float] = {}
        self.lock = threading.Lock()

    def step(self, db: Database) -> float:
        """Start placements that are due; seconds until this wants to look again."""
        now = time.monotonic()
        with self.lock:
            self.not_before = {k: v for k, v in self.not_before.items() if v > now}
        full = False
        for row in db.all("multi_tasks_to_schedule"):
            with self.lock:
                if row["id"] in self.in_flight or row["id"] in self.not_before:
                    continue
                if len(self.in_flight) >= self.MAX_PLACING:
                    full = True
                    break
                self.in_flight.add(row["id"])
            threading.Thread(
                target=self._work, args=(db, row["id"]), name=f"place-{row['id']}", daemon=True
            ).start()
        wait = 0.5 if full else 10.0
        with self.lock:
            if self.not_before:
                wait = min(wait, min(self.not_before.values()) - now)
        due = db.one("multi_next_task_time")
        if due and due["due"] is not None:
            ahead = (due["due"] - utcnow()).total_seconds()
            if ahead > 0:
                wait = min(wait, ahead)
        return max(0.05, wait)

    def _work(self, db: Database, task_id: int) -> None:
        started = time.monotonic()
        try:
            outcome = place_one(db, task_id, self.bind, self.limits)
            if outcome.retry_in is not None:
                with self.lock:
                    self.not_before[task_id] = time.monotonic() + outcome.retry_in
            log.info(
                "Task %s: placement %s with %d HTTP call(s) in %.3f s",
                task_id,
                "placed a run"
                if outcome.placed
                else (
                    "will retry" if outcome.retry_in is not None else f"failed: {outcome.nonstart}"
                ),
                outcome.calls,
                time.monotonic() - started,
            )
        except Exception:  # noqa: BLE001 - one task's failure must not stop the others
            log.exception("Placing a run of task %s failed", task_id)
            with self.lock:
                self.not_before[task_id] = time.monotonic() + 5.0
        finally:
            with self.lock:
                self.in_flight.discard(task_id)
            try:
                db.execute("wake_scheduler")
            except Exception:  # noqa: BLE001
                pass
