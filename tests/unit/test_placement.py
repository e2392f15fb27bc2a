"""Placing one task's runs on an in-memory timeline with a fixed clock (no database)."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

from pscheduler.limits.processor import load
from pscheduler.scheduling.place import Busy, Placement, Timeline, _place_one, predict_verdicts

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
MARGIN = dt.timedelta(seconds=2)


def t(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


def s(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)


def task(**kw) -> dict:
    """A task row as ``tasks_for_placement`` reads it: once, 10 s, normal, ideal in 10 s."""
    row = {
        "id": 1,
        "uuid": uuid.UUID(int=1),
        "test_type": "idle",
        "json": {"schema": 1, "test": {"type": "idle", "spec": {"duration": "PT10S"}}},
        "hints": {"requester": "127.0.0.1", "server": "127.0.0.1"},
        "priority": None,
        "run_start_margin": MARGIN,
        "schedule_horizon": dt.timedelta(hours=1),
        "duration": s(10),
        "scheduling_class": "normal",
        "repeat": None,
        "repeat_cron": None,
        "slip": s(0),
        "sliprand": False,
        "live_runs": 0,
        "next_ideal": t(10),
        "until": None,
        "max_runs": 1,
        "has_runs": False,
    }
    row.update(kw)
    return row


def busy(lower: float, upper: float, priority: int = 0, ident: int = 100) -> Busy:
    return Busy(ident, t(lower), t(upper), priority, uuid.UUID(int=ident), uuid.UUID(int=9), "idle")


def timelines(exclusive=(), normal=()) -> dict[str, Timeline]:
    return {"exclusive": Timeline(list(exclusive)), "normal": Timeline(list(normal))}


class Placed:
    """The outcome of one ``_place_one`` call, with rows read by name."""

    def __init__(self, row: dict, lines: dict[str, Timeline] | None = None, limits=None):
        self.lines = lines if lines is not None else timelines()
        self.rows: list[tuple] = []
        self.preempt: set[int] = set()
        self.outcome = Placement()
        self.cursor = _place_one(
            row, self.lines, NOW, limits, self.rows, self.preempt, self.outcome
        )

    @property
    def starts(self) -> list[float]:
        return [(r[2][0] - NOW).total_seconds() for r in self.rows if r[3] == "pending"]

    @property
    def states(self) -> list[str]:
        return [r[3] for r in self.rows]


def test_a_single_run_goes_at_its_ideal_time():
    p = Placed(task())
    assert p.starts == [10]
    (row,) = p.rows
    assert row[1] == 1 and row[2] == (t(10), t(20)) and row[4] == "normal"
    assert p.cursor is None and p.outcome.placed == 1 and p.outcome.nonstarts == 0


def test_a_late_first_run_still_happens_as_soon_as_possible():
    p = Placed(task(next_ideal=t(-600)))
    assert p.starts == [2]  # now + start margin


def test_a_late_later_run_is_skipped_not_back_filled():
    p = Placed(task(next_ideal=t(-300), repeat=s(60), max_runs=None, has_runs=True))
    assert p.starts[:3] == [60, 120, 180]  # -300 + 6 * 60 is the first point after the margin


def test_repeats_fill_the_horizon_and_the_cursor_is_the_next_ideal():
    p = Placed(task(repeat=s(60), max_runs=None))
    assert p.starts == [10 + 60 * k for k in range(60)]  # up to now + 1 h
    assert p.cursor == t(10 + 60 * 60)


def test_max_runs_counts_the_runs_already_live():
    p = Placed(task(repeat=s(60), max_runs=3, live_runs=1))
    assert p.starts == [10, 70]
    assert p.cursor == t(130)  # kept: a run that fails to start frees its count


def test_until_ends_the_task():
    p = Placed(task(repeat=s(60), max_runs=None, until=t(10 + 150)))
    assert p.starts == [10, 70, 130]
    assert p.cursor is None


def test_cron_runs_on_its_times_within_the_horizon():
    p = Placed(
        task(next_ideal=t(15 * 60), repeat_cron="*/15 * * * *", max_runs=None),
    )
    assert p.starts == [15 * 60, 30 * 60, 45 * 60, 60 * 60]
    assert p.cursor == t(75 * 60)


def test_slip_lets_a_run_wait_for_the_timeline():
    lines = timelines(exclusive=[busy(5, 40)])
    p = Placed(task(slip=s(60)), lines)
    assert p.starts == [40]
    assert lines["normal"].items[-1].lower == t(40)  # later tasks see it


def test_without_enough_slip_the_run_is_a_nonstarter_that_names_the_blocker():
    p = Placed(task(slip=s(10)), timelines(exclusive=[busy(5, 40)]))
    assert p.states == ["nonstart"] and p.outcome.nonstarts == 1
    row = p.rows[0]
    assert row[2] == (t(10), t(20)) and row[6] == 1
    assert f"the timeline is taken by run {uuid.UUID(int=100)}" in row[7]


def test_slip_is_capped_by_the_repeat_interval():
    # Interval 60 s, duration 10 s: at most 50 s of slip, whatever was asked; ideal at 10 s.
    every_minute = task(slip=s(300), repeat=s(60), max_runs=1)
    fits = Placed(every_minute, timelines(exclusive=[busy(5, 60)]))
    assert fits.starts == [60]
    capped = Placed(every_minute, timelines(exclusive=[busy(5, 61)]))
    # A non-starter does not count towards max-runs: the next interval gets the run.
    assert capped.states == ["nonstart", "pending"] and capped.starts == [70]


def test_normal_runs_share_the_timeline_and_exclusive_ones_do_not():
    others = timelines(normal=[busy(5, 40)])
    assert Placed(task(), others).starts == [10]
    assert Placed(task(scheduling_class="exclusive", slip=s(60)), others).starts == [40]


def test_background_runs_ignore_the_timeline():
    lines = timelines(exclusive=[busy(0, 100)])
    p = Placed(task(scheduling_class="background"), lines)
    assert p.starts == [10] and p.rows[0][4] is None
    assert len(lines["exclusive"].items) == 1  # and take no room


def test_background_multi_places_one_run_even_beyond_the_horizon():
    p = Placed(
        task(scheduling_class="background-multi", repeat=s(60), max_runs=None, next_ideal=t(7200))
    )
    assert p.starts == [7200]
    assert p.cursor == t(7260)


def test_a_higher_priority_run_preempts_lower_ones():
    lines = timelines(exclusive=[busy(5, 15, priority=0, ident=100)])
    p = Placed(task(scheduling_class="exclusive", priority=5), lines)
    assert p.starts == [10]
    assert p.preempt == {100}
    assert [b.id for b in lines["exclusive"].items] == [-1]  # the loser left the timeline
    assert p.rows[0][5] == 5


def test_equal_priority_does_not_preempt():
    p = Placed(
        task(scheduling_class="exclusive", priority=5, slip=s(60)),
        timelines(exclusive=[busy(5, 15, priority=5)]),
    )
    assert p.starts == [15] and not p.preempt


def test_a_run_about_to_start_is_not_preempted():
    # The lower-priority run starts before now + 2 * margin: it may already be starting.
    lines = timelines(exclusive=[busy(3, 15, priority=0)])
    p = Placed(task(scheduling_class="exclusive", priority=5, next_ideal=t(3), slip=s(60)), lines)
    assert p.starts == [15] and not p.preempt


def test_priority_decides_between_tasks_placed_in_the_same_batch():
    lines = timelines()
    shared_rows: list[tuple] = []
    preempt: set[int] = set()
    outcome = Placement()
    low = task(id=1, scheduling_class="exclusive", priority=0)
    high = task(id=2, uuid=uuid.UUID(int=2), scheduling_class="exclusive", priority=9)
    _place_one(low, lines, NOW, None, shared_rows, preempt, outcome)
    _place_one(high, lines, NOW, None, shared_rows, preempt, outcome)
    assert preempt == {-1}  # the first row of the batch, not yet in the database
    assert [(b.id, b.priority) for b in lines["exclusive"].items] == [(-2, 9)]
    assert outcome.placed == 2


def _limits(application_limits: list[str], priority_script: str | None = None):
    doc = {
        "schema": 3,
        "identifiers": [{"name": "all", "description": "all", "type": "always", "data": {}}],
        "classifiers": [{"name": "everyone", "description": "all", "identifiers": ["all"]}],
        "limits": [
            {"name": "yes", "description": "pass", "type": "pass-fail", "data": {"pass": True}},
            {"name": "no", "description": "fail", "type": "pass-fail", "data": {"pass": False}},
        ],
        "applications": [
            {"description": "A", "apply": [{"require": "all", "limits": application_limits}]}
        ],
    }
    if priority_script:
        doc["priority"] = {"script": priority_script}
    return load(json.dumps(doc))


def test_a_run_forbidden_by_limits_is_a_nonstarter_carrying_the_diagnostics():
    p = Placed(task(), limits=_limits(["no"]))
    assert p.states == ["nonstart"]
    assert p.rows[0][7].startswith("Run forbidden by limits:\n")
    assert "does not meet limits" in p.rows[0][8]


def test_the_prioritizer_sets_the_run_priority_and_wins_the_timeline():
    lines = timelines(exclusive=[busy(5, 15, priority=3)])
    p = Placed(
        task(scheduling_class="exclusive"), lines, limits=_limits(["yes"], 'adjust(7; "VIP")')
    )
    assert p.starts == [10] and p.rows[0][5] == 7 and p.preempt == {100}
    assert "Priority set at 7" in p.rows[0][8]


def test_sliprand_spreads_starts_over_the_slip():
    random.seed(99)
    starts = {Placed(task(slip=s(30), sliprand=True)).starts[0] for _ in range(50)}
    assert min(starts) >= 10 and max(starts) <= 40
    assert len(starts) > 5


class _Counting:
    """A limit system that counts the questions it is asked."""

    def __init__(self, inner):
        self.inner, self.asked = inner, 0

    def process(self, *args, **kw):
        self.asked += 1
        return self.inner.process(*args, **kw)


def test_limits_asked_before_the_lock_give_the_same_placement_with_no_question_under_it():
    # Repeating, with a blocker that makes one run slip: the verdicts predicted on an empty
    # timeline still cover every run the real placement makes.
    row = task(repeat=s(60), slip=s(30), max_runs=None, scheduling_class="exclusive")
    lines = lambda: timelines(exclusive=[busy(5, 25)])  # noqa: E731
    direct = Placed(row, lines(), limits=_limits(["yes"], 'adjust(4; "four")'))
    counting = _Counting(_limits(["yes"], 'adjust(4; "four")'))
    verdicts = predict_verdicts(row, NOW, counting)
    asked_before = counting.asked
    assert asked_before >= len(direct.rows)
    rows: list[tuple] = []
    cursor = _place_one(row, lines(), NOW, counting, rows, set(), Placement(), verdicts=verdicts)
    assert counting.asked == asked_before  # nothing asked while placing
    assert [r[2] for r in rows] == [r[2] for r in direct.rows]
    assert [r[5] for r in rows] == [4] * len(rows) and cursor == direct.cursor


def test_a_run_without_a_verdict_waits_for_the_next_pass_and_until_stops_early():
    row = task(repeat=s(60), max_runs=None)
    rows: list[tuple] = []
    assert _place_one(row, timelines(), NOW, None, rows, set(), Placement(), verdicts={}) == t(10)
    assert rows == []
    soon: list[tuple] = []
    cursor = _place_one(row, timelines(), NOW, None, soon, set(), Placement(), until=t(130))
    assert [(r[2][0] - NOW).total_seconds() for r in soon] == [10, 70, 130] and cursor == t(190)


def test_a_budget_bounds_the_rows_of_a_batch_and_keeps_the_cursor_on_the_next_run():
    row = task(repeat=s(60), max_runs=None)
    rows: list[tuple] = []
    cursor = _place_one(row, timelines(), NOW, None, rows, set(), Placement(), budget=4)
    assert len(rows) == 4 and cursor == t(250)
