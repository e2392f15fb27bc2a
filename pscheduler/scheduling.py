"""Run placement: turning a task's schedule into runs on a conflict-free timeline.

Each task is placed in one transaction that holds the timeline lock: the conflicting runs of
the window are read once, every run up to the horizon is placed against them in memory, and
all rows are inserted together.  The exclusion constraint on ``run`` guarantees that no two
conflicting active runs can exist even if this code were wrong.

Priorities: a run may be placed over active runs of strictly lower priority that do not
start within the start margin; those are preempted in the same transaction (the original
left both on the timeline and preempted at start, so the timeline briefly held conflicts).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from dataclasses import dataclass

import psycopg2
import psycopg2.extras

from pscheduler import timing
from pscheduler.db import Database, query
from pscheduler.toolkit.iso8601 import duration_to_iso, format_timestamp, utcnow

log = logging.getLogger(__name__)

ANYTIME = ("background", "background-multi")


@dataclass
class Busy:
    id: int
    lower: dt.datetime
    upper: dt.datetime
    priority: int
    run_uuid: uuid.UUID
    task_uuid: uuid.UUID
    test_type: str

    def describe(self) -> str:
        return (
            f"run {self.run_uuid} of task {self.task_uuid} ({self.test_type}, "
            f"{format_timestamp(self.lower)} to {format_timestamp(self.upper)})"
        )


def conflict_class(scheduling_class: str) -> str | None:
    return {"exclusive": "exclusive", "normal": "normal"}.get(scheduling_class)


def load_busy(cur, scheduling_class: str, start: dt.datetime, end: dt.datetime) -> list[Busy]:
    if scheduling_class in ANYTIME:
        return []
    cur.execute(
        query("conflicting_runs"),
        {"start": start, "end": end, "exclusive": scheduling_class == "exclusive"},
    )
    return [
        Busy(
            r["id"],
            r["lower"],
            r["upper"],
            r["priority"] or 0,
            r["run_uuid"],
            r["task_uuid"],
            r["test_type"],
        )
        for r in cur.fetchall()
    ]


def free_ranges(
    busy: list[Busy],
    start: dt.datetime,
    end: dt.datetime,
    duration: dt.timedelta,
    priority: int = 0,
    protect_until: dt.datetime | None = None,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Gaps in [start, end) at least ``duration`` long among the runs that block us.

    Runs of lower priority do not block unless they start before ``protect_until`` (they may
    already be starting)."""
    blocking = sorted(
        (b for b in busy if b.priority >= priority or (protect_until and b.lower < protect_until)),
        key=lambda b: b.lower,
    )
    gaps = []
    cursor = start
    for b in blocking:
        if b.upper <= cursor:
            continue
        if b.lower >= end:
            break
        if b.lower - cursor >= duration:
            gaps.append((cursor, min(b.lower, end)))
        cursor = max(cursor, b.upper)
    if end - cursor >= duration:
        gaps.append((cursor, end))
    return gaps


def choose_start(gaps, duration: dt.timedelta, sliprand: bool) -> dt.datetime | None:
    if not gaps:
        return None
    if not sliprand:
        return gaps[0][0]
    low, high = random.choice(gaps)
    spare = int((high - low - duration).total_seconds())
    return low + dt.timedelta(seconds=random.randint(0, max(0, spare)))


def blocker_reason(busy: list[Busy], start: dt.datetime, end: dt.datetime, priority: int) -> str:
    blockers = [b for b in busy if b.priority >= priority and b.lower < end and b.upper > start]
    window = f"[{format_timestamp(start)}, {format_timestamp(end)}]"
    if not blockers:
        return f"No free time in {window}"
    first = blockers[0]
    more = f" and {len(blockers) - 1} other run(s)" if len(blockers) > 1 else ""
    return f"No free time in {window}: the timeline is taken by {first.describe()}{more}"


@dataclass
class Placement:
    placed: int = 0
    nonstarts: int = 0


def run_limits(limits, task: dict, start: dt.datetime) -> tuple[bool, str | None, int | None]:
    """The limit system's verdict on one run: (passed, diags, priority)."""
    if limits is None:
        return True, None, task["priority"]
    proposal = {
        **task["json"],
        "run_schedule": {
            "start": format_timestamp(start),
            "duration": duration_to_iso(task["duration"]),
        },
    }
    try:
        verdict = limits.process(proposal, task["hints"], rewrite=False, prioritize=True)
    except Exception as exc:  # noqa: BLE001 - a broken limits file denies, with the reason
        return False, f"Limit processor is not initialized: {exc}", task["priority"]
    priority = verdict.priority if verdict.priority is not None else task["priority"]
    return verdict.passed, verdict.diags, priority


def place_task(
    db: Database, task_id: int, now: dt.datetime | None = None, limits=None
) -> Placement:
    """Place every run of one task that falls within the horizon.

    ``limits`` (a LimitFile) is asked about each run; a denied run becomes a non-starter
    carrying the diagnostics, and the prioritizer's answer becomes the run's priority."""
    outcome = Placement()
    with db.transaction() as cur:
        cur.execute(query("timeline_lock"))
        cur.execute(query("task_for_placement"), {"id": task_id})
        task = cur.fetchone()
        if task is None or task["next_ideal"] is None:
            return outcome
        now = now or utcnow()
        margin = task["run_start_margin"]
        earliest = timing.whole_second(now + margin, up=True)
        horizon_end = now + task["schedule_horizon"]
        duration = task["duration"]
        cls = task["scheduling_class"]
        repeat, cron = task["repeat"], task["repeat_cron"]
        slip = timing.effective_slip(task["slip"], duration, repeat)
        multi_result = cls == "background-multi"
        busy = load_busy(cur, cls, min(task["next_ideal"], earliest), horizon_end + slip + duration)
        live = task["live_runs"]
        ideal = task["next_ideal"]
        rows: list[tuple] = []
        preempt: set[int] = set()
        while ideal is not None:
            if task["until"] is not None and ideal >= task["until"]:
                ideal = None
                break
            if not multi_result and ideal > horizon_end - slip:
                break
            if task["max_runs"] is not None and live >= task["max_runs"]:
                break
            if ideal + slip < earliest:
                if not rows and not task["has_runs"]:
                    # A task's first run happens as soon as possible, however late.
                    ideal = earliest
                else:
                    # A later window wholly in the past (a daemon was down): skip it.
                    ideal = timing.next_ideal(ideal, earliest, repeat, cron)
                    continue
            window_start = max(ideal, earliest)
            window_end = ideal + slip + duration
            allowed, diags, run_priority = run_limits(limits, task, window_start)
            priority = run_priority or 0
            gaps = []
            if allowed:
                gaps = free_ranges(
                    busy,
                    window_start,
                    window_end,
                    duration,
                    priority,
                    protect_until=earliest + margin,
                )
            start = choose_start(gaps, duration, task["sliprand"])
            if start is None:
                if allowed:
                    reason = blocker_reason(busy, window_start, window_end, priority)
                else:
                    reason = "Run forbidden by limits:\n" + (diags or "")
                rows.append(
                    (
                        uuid.uuid4(),
                        task_id,
                        (ideal, ideal + duration),
                        "nonstart",
                        conflict_class(cls),
                        run_priority,
                        1,
                        reason,
                        diags,
                    )
                )
                outcome.nonstarts += 1
                run_end = ideal + duration
            else:
                run_end = start + duration
                for b in busy:
                    if b.lower < run_end and b.upper > start and b.priority < priority:
                        preempt.add(b.id)
                busy = [b for b in busy if b.id not in preempt]
                run_uuid = uuid.uuid4()
                rows.append(
                    (
                        run_uuid,
                        task_id,
                        (start, run_end),
                        "pending",
                        conflict_class(cls),
                        run_priority,
                        None,
                        None,
                        diags,
                    )
                )
                if cls not in ANYTIME:
                    busy.append(
                        Busy(0, start, run_end, priority, run_uuid, task["uuid"], task["test_type"])
                    )
                    busy.sort(key=lambda b: b.lower)
                live += 1
                outcome.placed += 1
            ideal = timing.next_ideal(
                ideal, max(run_end, ideal + dt.timedelta(seconds=1)), repeat, cron
            )
            if multi_result:
                break
        if preempt:
            cur.execute(query("preempt_runs"), {"ids": list(preempt)})
        if rows:
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO run (uuid, task, times, state, conflict_class, priority, status, errors,"
                " limit_diags)"
                " VALUES %s",
                [(r[0], r[1], psycopg2.extras.DateTimeTZRange(*r[2], "[)"), *r[3:]) for r in rows],
                page_size=500,
            )
        cur.execute(query("task_set_next_ideal"), {"id": task_id, "next_ideal": ideal})
    return outcome


def schedule_pass(db: Database, limit: int = 200, limits=None) -> Placement:
    """Place runs for every task that needs them; returns what was done."""
    total = Placement()
    for task in db.all("tasks_to_schedule", {"limit": limit}):
        try:
            done = place_task(db, task["id"], limits=limits)
        except psycopg2.errors.ExclusionViolation:
            log.warning("Task %s: placement met a concurrent run; will retry", task["uuid"])
            continue
        total.placed += done.placed
        total.nonstarts += done.nonstarts
    return total


def seconds_until_next_work(db: Database) -> float:
    row = db.one("next_task_time")
    if not row or row["due"] is None:
        return 60.0
    return max(0.0, (row["due"] - utcnow()).total_seconds())
