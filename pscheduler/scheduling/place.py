"""Run placement: turning a task's schedule into runs on a conflict-free timeline.

A batch of tasks is placed in one transaction that holds the timeline lock: the active
exclusive and normal runs of the window are read once into an in-memory timeline, every run
up to the horizon is placed against it, and all rows are inserted together.  The exclusion constraint on ``run`` guarantees that no two
conflicting active runs can exist even if this code were wrong.

Priorities: a run may be placed over active runs of strictly lower priority that do not
start within the start margin; those are preempted in the same transaction (the original
left both on the timeline and preempted at start, so the timeline briefly held conflicts).
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg2
import psycopg2.extras

from pscheduler.db import Database, query
from pscheduler.scheduling import timing
from pscheduler.toolkit.iso8601 import duration_to_iso, format_timestamp, utcnow

log = logging.getLogger(__name__)


@dataclass
class Busy:
    id: int
    lower: dt.datetime
    upper: dt.datetime
    priority: int
    run_uuid: uuid.UUID
    task_uuid: uuid.UUID
    test_type: str

    @classmethod
    def from_row(cls, r: dict) -> Busy:
        return cls(
            r["id"],
            r["lower"],
            r["upper"],
            r["priority"] or 0,
            r["run_uuid"],
            r["task_uuid"],
            r["test_type"],
        )

    def describe(self) -> str:
        return (
            f"run {self.run_uuid} of task {self.task_uuid} ({self.test_type}, "
            f"{format_timestamp(self.lower)} to {format_timestamp(self.upper)})"
        )


class Timeline:
    """Active runs of one conflict class, sorted by start, with windowed look-ups."""

    def __init__(self, items: list[Busy]):
        self.items = sorted(items, key=lambda b: b.lower)
        self.lowers = [b.lower for b in self.items]
        self.longest = max((b.upper - b.lower for b in self.items), default=dt.timedelta(0))

    def window(self, start: dt.datetime, end: dt.datetime) -> list[Busy]:
        first = bisect.bisect_left(self.lowers, start - self.longest)
        last = bisect.bisect_left(self.lowers, end)
        return [b for b in self.items[first:last] if b.upper > start]

    def add(self, item: Busy) -> None:
        at = bisect.bisect_right(self.lowers, item.lower)
        self.lowers.insert(at, item.lower)
        self.items.insert(at, item)
        self.longest = max(self.longest, item.upper - item.lower)

    def remove(self, ids: set[int]) -> None:
        kept = [b for b in self.items if b.id not in ids]
        self.items, self.lowers = kept, [b.lower for b in kept]


def conflict_class(scheduling_class: str) -> str | None:
    return {"exclusive": "exclusive", "normal": "normal"}.get(scheduling_class)


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


def timelines_from(rows: list[dict]) -> dict[str, Timeline]:
    """One timeline per conflict class from ``active_runs_in_window`` rows."""
    found: dict[str, list[Busy]] = {"exclusive": [], "normal": []}
    for r in rows:
        found[r["conflict_class"]].append(Busy.from_row(r))
    return {cls: Timeline(items) for cls, items in found.items()}


def blockers(cls: str) -> tuple[str, ...]:
    """The conflict classes whose runs a run of scheduling class ``cls`` must not overlap."""
    if cls == "exclusive":
        return ("exclusive", "normal")
    if cls == "normal":
        return ("exclusive",)
    return ()


def load_timelines(
    cur, start: dt.datetime, end: dt.datetime, classes: Iterable[str] = ("exclusive", "normal")
) -> dict[str, Timeline]:
    """The active runs of ``classes`` within [start, end) (the other timelines stay empty):
    placing normal runs among a day of normal runs reads only the exclusive ones."""
    rows: list[dict] = []
    for cls in sorted(set(classes)):
        cur.execute(query("active_runs_in_window"), {"start": start, "end": end, "class": cls})
        rows += cur.fetchall()
    return timelines_from(rows)


def blocking(timelines: dict[str, Timeline], cls: str, start, end) -> list[Busy]:
    """The runs a run of class ``cls`` must not overlap, within [start, end)."""
    found = [b for blocker in blockers(cls) for b in timelines[blocker].window(start, end)]
    return sorted(found, key=lambda b: b.lower)


def _place_one(
    task: dict,
    timelines: dict[str, Timeline],
    now: dt.datetime,
    limits,
    rows: list,
    preempt: set[int],
    outcome: Placement,
    verdicts: dict | None = None,
    until: dt.datetime | None = None,
    budget: int | None = None,
) -> dt.datetime | None:
    """Place the runs of one task; returns its new cursor (next ideal start).

    ``verdicts`` (from ``predict_verdicts``) are the limit system's answers asked before the
    timeline lock; a run with no answer there is left for the next pass (the cursor stays on
    it) rather than asking the limits under the lock.  ``until`` stops at runs ideally after
    it: the runs due soon are placed (and committed) before the rest of the horizon.
    ``budget`` bounds the rows of the whole batch (``rows`` is shared): the transaction, and
    the timeline lock, stay short whatever the tasks' repeat; the rest waits for a next pass.
    """
    margin = task["run_start_margin"]
    earliest = timing.whole_second(now + margin, up=True)
    horizon_end = now + task["schedule_horizon"]
    duration = task["duration"]
    cls = task["scheduling_class"]
    repeat, cron = task["repeat"], task["repeat_cron"]
    slip = timing.effective_slip(task["slip"], duration, repeat)
    multi_result = cls == "background-multi"
    live = task["live_runs"]
    ideal = task["next_ideal"]
    first_row = len(rows)
    while ideal is not None:
        if task["until"] is not None and ideal >= task["until"]:
            return None
        if not multi_result and ideal > horizon_end - slip:
            break
        if task["max_runs"] is not None and live >= task["max_runs"]:
            break
        if until is not None and ideal > until and not multi_result:
            break
        if budget is not None and len(rows) >= budget:
            break
        if ideal + slip < earliest:
            if len(rows) == first_row and not task["has_runs"]:
                ideal = earliest  # a task's first run happens as soon as possible, however late
            else:
                ideal = timing.next_ideal(ideal, earliest, repeat, cron)  # skip, never back-fill
                continue
        window_start = max(ideal, earliest)
        window_end = ideal + slip + duration
        if verdicts is None:
            allowed, diags, run_priority = run_limits(limits, task, window_start)
        else:
            verdict = verdicts.get(window_start)
            if verdict is None and window_start == earliest:
                verdict = verdicts.get("first")  # a late first run, pulled to "now"
            if verdict is None:
                break  # not asked before the lock: the next pass asks, then places it
            allowed, diags, run_priority = verdict
        priority = run_priority or 0
        busy = blocking(timelines, cls, window_start, window_end)
        gaps = []
        if allowed:
            gaps = free_ranges(
                busy, window_start, window_end, duration, priority, protect_until=earliest + margin
            )
        start = choose_start(gaps, duration, task["sliprand"])
        if start is None:
            reason = (
                blocker_reason(busy, window_start, window_end, priority)
                if allowed
                else "Run forbidden by limits:\n" + (diags or "")
            )
            rows.append(
                (
                    uuid.uuid4(),
                    task["id"],
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
            losers = {
                b.id
                for b in busy
                if b.lower < run_end and b.upper > start and b.priority < priority
            }
            if losers:
                preempt |= losers
                for timeline in timelines.values():
                    timeline.remove(losers)
            run_uuid = uuid.uuid4()
            rows.append(
                (
                    run_uuid,
                    task["id"],
                    (start, run_end),
                    "pending",
                    conflict_class(cls),
                    run_priority,
                    None,
                    None,
                    diags,
                )
            )
            if cls in timelines:
                timelines[cls].add(
                    Busy(
                        -len(rows),
                        start,
                        run_end,
                        priority,
                        run_uuid,
                        task["uuid"],
                        task["test_type"],
                    )
                )
            live += 1
            outcome.placed += 1
        ideal = timing.next_ideal(
            ideal, max(run_end, ideal + dt.timedelta(seconds=1)), repeat, cron
        )
        if multi_result:
            break
    return ideal


class _Asking:
    """What ``_place_one`` reads verdicts from while predicting: asks the limits, remembers."""

    def __init__(self, limits, task: dict, earliest: dt.datetime):
        self.limits, self.task, self.earliest = limits, task, earliest
        self.answers: dict = {}

    def get(self, start):
        if not isinstance(start, dt.datetime):
            return None
        if start not in self.answers:
            self.answers[start] = run_limits(self.limits, self.task, start)
            if start == self.earliest:
                self.answers.setdefault("first", self.answers[start])
        return self.answers[start]


def predict_verdicts(
    task: dict,
    now: dt.datetime,
    limits,
    until: dt.datetime | None = None,
    budget: int | None = None,
) -> dict:
    """The limit system's verdicts for the runs this task will want, asked with no lock held.

    Placement is simulated on an empty timeline without slip randomness: the ideal starts it
    visits include every one the real placement can reach (a run slipped later only skips
    grid points), so under the lock each run finds its verdict here; one that does not
    waits for the next pass.
    """
    earliest = timing.whole_second(now + task["run_start_margin"], up=True)
    asking = _Asking(limits, task, earliest)
    empty = {"exclusive": Timeline([]), "normal": Timeline([])}
    _place_one(
        {**task, "sliprand": False},
        empty,
        now,
        limits,
        [],
        set(),
        Placement(),
        verdicts=asking,
        until=until,
        budget=budget,
    )
    return asking.answers


def place_tasks(
    db: Database,
    task_ids: list[int],
    limits=None,
    now: dt.datetime | None = None,
    until: dt.datetime | None = None,
    budget: int | None = None,
) -> Placement:
    """Place every run of these tasks that falls within the horizon (or ``until``, or up to
    ``budget`` runs), in one transaction.

    ``limits`` (a LimitFile) is asked about each run before the timeline lock is taken (a
    url-fetch limit may make an HTTP call); a denied run becomes a non-starter carrying the
    diagnostics, and the prioritizer's answer becomes the run's priority.  Under the lock
    only conflicts are checked and rows inserted."""
    outcome = Placement()
    fixed_now = now is not None
    now = now or utcnow()
    verdicts: dict[int, dict] | None = None
    if limits is not None:
        verdicts = {
            t["id"]: predict_verdicts(t, now, limits, until, budget)
            for t in db.all("tasks_for_limits", {"ids": task_ids})
            if t["next_ideal"] is not None
        }
        if not fixed_now:
            now = utcnow()  # asking took time: a first run goes at the real "now", not then
    with db.transaction() as cur:
        cur.execute(query("timeline_lock"))
        cur.execute(query("tasks_for_placement"), {"ids": task_ids})
        tasks = [t for t in cur.fetchall() if t["next_ideal"] is not None]
        if not tasks:
            return outcome
        start = min(min(t["next_ideal"] for t in tasks), now)
        end = max(now + t["schedule_horizon"] + t["slip"] + t["duration"] for t in tasks)
        if until is not None:
            end = min(end, max(until + t["slip"] + t["duration"] for t in tasks))
        needed = {c for t in tasks for c in blockers(t["scheduling_class"])}
        timelines = load_timelines(cur, start, end, needed)
        rows: list[tuple] = []
        preempt: set[int] = set()
        cursors = []
        for task in tasks:
            answers = None if verdicts is None else verdicts.get(task["id"], {})
            cursor = _place_one(
                task, timelines, now, limits, rows, preempt, outcome, answers, until, budget
            )
            cursors.append((task["id"], cursor))
        if preempt:
            cur.execute(query("preempt_runs"), {"ids": [i for i in preempt if i > 0]})
        if rows:
            psycopg2.extras.execute_values(
                cur,
                query("runs_insert_many"),
                [(r[0], r[1], psycopg2.extras.DateTimeTZRange(*r[2], "[)"), *r[3:]) for r in rows],
                page_size=1000,
            )
        psycopg2.extras.execute_values(
            cur,
            query("tasks_set_next_ideal_many"),
            cursors,
            template="(%s, %s::timestamptz)",
            page_size=1000,
        )
    return outcome


def place_task(
    db: Database, task_id: int, limits=None, now: dt.datetime | None = None
) -> Placement:
    return place_tasks(db, [task_id], limits, now)


# Runs ideally within SOON are placed for every task before any task's further horizon, and
# the horizon is placed a few tasks per transaction, so a new task's first run is committed
# (and the runner notified) at once rather than after a million other rows.
SOON = dt.timedelta(minutes=2)
HORIZON_TASKS = 5
HORIZON_ROWS = 5000  # runs per horizon transaction, whatever the tasks' repeat


def schedule_pass(
    db: Database, limit: int = 500, limits=None, within: dt.timedelta | None = None
) -> Placement:
    """Place runs for the tasks that need them (up to ``limit`` tasks); ``within`` limits the
    pass to runs ideally due that soon.  Returns what was done."""
    ids = [t["id"] for t in db.all("tasks_to_schedule", {"limit": limit, "within": within})]
    if not ids:
        return Placement()
    until = None if within is None else utcnow() + within
    budget = HORIZON_ROWS if within is None else None
    try:
        return place_tasks(db, ids, limits, until=until, budget=budget)
    except psycopg2.errors.ExclusionViolation:
        # Someone else took part of the timeline under us: place the tasks one by one.
        log.warning("Batch placement met a concurrent run; placing tasks one at a time")
        total = Placement()
        for task_id in ids:
            try:
                done = place_tasks(db, [task_id], limits, until=until, budget=budget)
            except psycopg2.errors.ExclusionViolation:
                log.warning("Task %s: placement met a concurrent run; will retry", task_id)
                continue
            total.placed += done.placed
            total.nonstarts += done.nonstarts
        return total


def seconds_until_next_work(db: Database) -> float:
    row = db.one("next_task_time")
    if not row or row["due"] is None:
        return 60.0
    return max(0.0, (row["due"] - utcnow()).total_seconds())
