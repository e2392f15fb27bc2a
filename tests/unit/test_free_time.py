"""Free time on the timeline: gaps, start choice, the in-memory timeline and who blocks whom."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest

from pscheduler.scheduling.place import (
    Busy,
    Timeline,
    blocker_reason,
    blocking,
    choose_start,
    free_ranges,
    timelines_from,
)

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def t(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def s(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)


def busy(lower: float, upper: float, priority: int = 0, ident: int = 1) -> Busy:
    return Busy(ident, t(lower), t(upper), priority, uuid.UUID(int=ident), uuid.UUID(int=0), "idle")


def gaps_in_seconds(gaps) -> list[tuple[float, float]]:
    return [((a - T0).total_seconds(), (b - T0).total_seconds()) for a, b in gaps]


def test_an_empty_timeline_is_one_gap():
    assert gaps_in_seconds(free_ranges([], t(0), t(100), s(10))) == [(0, 100)]


def test_a_window_shorter_than_the_run_has_no_gap():
    assert free_ranges([], t(0), t(9), s(10)) == []


def test_a_run_in_the_middle_leaves_a_gap_on_each_side():
    got = free_ranges([busy(40, 60)], t(0), t(100), s(10))
    assert gaps_in_seconds(got) == [(0, 40), (60, 100)]


def test_gaps_shorter_than_the_duration_are_dropped_and_exact_fits_kept():
    runs = [busy(5, 20, ident=1), busy(30, 50, ident=2)]
    got = free_ranges(runs, t(0), t(60), s(10))
    assert gaps_in_seconds(got) == [(20, 30), (50, 60)]  # [0, 5) is too short; 10 s fits


def test_runs_straddling_the_window_edges_trim_it():
    runs = [busy(-30, 15, ident=1), busy(90, 200, ident=2)]
    assert gaps_in_seconds(free_ranges(runs, t(0), t(100), s(10))) == [(15, 90)]


def test_nested_and_overlapping_runs_are_merged():
    runs = [busy(10, 50, ident=1), busy(20, 30, ident=2), busy(45, 70, ident=3)]
    assert gaps_in_seconds(free_ranges(runs, t(0), t(100), s(10))) == [(0, 10), (70, 100)]


def test_runs_after_the_window_do_not_matter():
    assert gaps_in_seconds(free_ranges([busy(150, 160)], t(0), t(100), s(10))) == [(0, 100)]


def test_lower_priority_runs_do_not_block_equal_and_higher_do():
    runs = [busy(10, 30, priority=1, ident=1), busy(50, 70, priority=5, ident=2)]
    assert gaps_in_seconds(free_ranges(runs, t(0), t(100), s(10), priority=5)) == [
        (0, 50),
        (70, 100),
    ]
    assert gaps_in_seconds(free_ranges(runs, t(0), t(100), s(10), priority=6)) == [(0, 100)]


def test_a_lower_priority_run_about_to_start_is_protected():
    runs = [busy(10, 30, priority=0)]
    got = free_ranges(runs, t(0), t(100), s(10), priority=5, protect_until=t(12))
    assert gaps_in_seconds(got) == [(0, 10), (30, 100)]
    unprotected = free_ranges(runs, t(0), t(100), s(10), priority=5, protect_until=t(10))
    assert gaps_in_seconds(unprotected) == [(0, 100)]


def test_choose_start_without_slip_randomness_takes_the_earliest():
    assert choose_start([(t(20), t(30)), (t(50), t(90))], s(10), sliprand=False) == t(20)
    assert choose_start([], s(10), sliprand=False) is None
    assert choose_start([], s(10), sliprand=True) is None


def test_choose_start_with_slip_randomness_stays_inside_the_gaps_on_whole_seconds():
    random.seed(1234)
    gaps = [(t(20), t(30)), (t(50), t(90))]
    starts = {choose_start(gaps, s(10), sliprand=True) for _ in range(200)}
    assert all((t(20) <= x <= t(20)) or (t(50) <= x <= t(80)) for x in starts), (
        "a start must leave room for the run in its gap"
    )
    assert all(x.microsecond == 0 for x in starts)
    assert len(starts) > 10  # really spread over the slip, not always the first second


def test_timeline_window_finds_a_long_run_that_started_well_before():
    line = Timeline([busy(-3600, 50, ident=1), busy(60, 70, ident=2), busy(200, 210, ident=3)])
    assert [b.id for b in line.window(t(0), t(100))] == [1, 2]
    assert [b.id for b in line.window(t(50), t(60))] == []  # both edges are open
    assert [b.id for b in line.window(t(205), t(300))] == [3]


def test_timeline_add_keeps_order_and_remove_forgets():
    line = Timeline([busy(60, 70, ident=2)])
    line.add(busy(10, 20, ident=1))
    line.add(busy(100, 500, ident=3))
    assert [b.id for b in line.items] == [1, 2, 3]
    assert [b.id for b in line.window(t(400), t(450))] == [3]  # the longest run grew
    line.remove({2})
    assert [b.id for b in line.window(t(0), t(1000))] == [1, 3]


@pytest.mark.parametrize(
    ("cls", "expected"),
    [("exclusive", [1, 2]), ("normal", [1]), ("background", []), ("background-multi", [])],
)
def test_who_blocks_whom(cls, expected):
    timelines = {
        "exclusive": Timeline([busy(0, 10, ident=1)]),
        "normal": Timeline([busy(5, 15, ident=2)]),
    }
    assert [b.id for b in blocking(timelines, cls, t(0), t(20))] == expected


def test_blocker_reason_names_the_first_blocker_and_counts_the_rest():
    runs = [busy(0, 10, ident=7), busy(10, 20, ident=8), busy(0, 20, priority=-1, ident=9)]
    reason = blocker_reason(runs, t(0), t(20), priority=0)
    assert reason.startswith(
        "No free time in [2026-01-05T12:00:00+00:00, 2026-01-05T12:00:20+00:00]: "
    )
    assert f"run {uuid.UUID(int=7)} of task" in reason
    assert reason.endswith("and 1 other run(s)")  # the lower-priority one does not count
    assert blocker_reason([], t(0), t(20), 0) == (
        "No free time in [2026-01-05T12:00:00+00:00, 2026-01-05T12:00:20+00:00]"
    )


def test_timelines_from_rows_split_by_conflict_class():
    def row(ident: int, cls: str, lower: float, priority: int | None) -> dict:
        return {
            "id": ident,
            "conflict_class": cls,
            "lower": t(lower),
            "upper": t(lower + 10),
            "priority": priority,
            "run_uuid": uuid.UUID(int=ident),
            "task_uuid": uuid.UUID(int=0),
            "test_type": "idle",
        }

    lines = timelines_from(
        [row(2, "normal", 50, 3), row(1, "exclusive", 0, None), row(3, "normal", 20, 1)]
    )
    assert [b.id for b in lines["exclusive"].items] == [1]
    assert [b.id for b in lines["normal"].items] == [3, 2]  # sorted by start
    assert lines["exclusive"].items[0].priority == 0  # no priority counts as 0
