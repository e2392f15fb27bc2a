"""Schedule arithmetic with a fixed clock: start resolution, repeat grid, cron, slip."""

from __future__ import annotations

import datetime as dt

import pytest

from pscheduler.scheduling import timing

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 12, 0, 0, 250000, tzinfo=UTC)  # a Monday, with a fraction
S = dt.timedelta(seconds=1)
MIN = dt.timedelta(minutes=1)


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, 5, hour, minute, second, tzinfo=UTC)


def test_whole_second_drops_or_rounds_up_a_fraction():
    assert timing.whole_second(NOW) == at(12)
    assert timing.whole_second(NOW, up=True) == at(12, 0, 1)
    assert timing.whole_second(at(12), up=True) == at(12)  # already whole: unchanged


@pytest.mark.parametrize("start", [None, "soonest"])
def test_absent_or_soonest_start_means_as_soon_as_possible(start):
    assert timing.resolve_start(start, NOW) is None


def test_relative_start_is_now_plus_the_duration_rounded_up():
    assert timing.resolve_start("PT10M", NOW) == at(12, 10, 1)
    assert timing.resolve_start("P1D", NOW) == dt.datetime(2026, 1, 6, 12, 0, 1, tzinfo=UTC)


def test_aligned_start_is_the_next_multiple_since_the_epoch():
    assert timing.resolve_start("@PT1H", NOW) == at(13)
    assert timing.resolve_start("@PT15M", at(12, 14, 59)) == at(12, 15)
    # Exactly on a boundary: the next one, never now.
    assert timing.resolve_start("@PT15M", at(12, 15)) == at(12, 30)
    # P1D aligns on midnight UTC.
    assert timing.resolve_start("@P1D", NOW) == dt.datetime(2026, 1, 6, tzinfo=UTC)


def test_aligned_start_needs_a_positive_interval():
    with pytest.raises(ValueError, match="must be positive"):
        timing.resolve_start("@PT0S", NOW)


def test_absolute_start_is_rounded_up_to_the_second():
    assert timing.resolve_start("2026-02-01T10:00:00.5Z", NOW) == dt.datetime(
        2026, 2, 1, 10, 0, 1, tzinfo=UTC
    )
    assert timing.resolve_start("2026-02-01T10:00:00+02:00", NOW) == dt.datetime(
        2026, 2, 1, 8, tzinfo=UTC
    )


@pytest.mark.parametrize("bad", ["tomorrow", "PTXM", "@soon", "2026-13-01T00:00:00Z"])
def test_unreadable_start_is_a_value_error(bad):
    with pytest.raises(ValueError):
        timing.resolve_start(bad, NOW)


def test_repeat_grid_steps_from_the_previous_ideal():
    assert timing.next_ideal(at(12), at(12), MIN, None) == at(12, 1)
    # not_before inside the first interval: still the next grid point.
    assert timing.next_ideal(at(12), at(12, 0, 30), MIN, None) == at(12, 1)


def test_repeat_grid_skips_points_before_not_before_without_back_filling():
    assert timing.next_ideal(at(12), at(12, 5, 30), MIN, None) == at(12, 6)
    # A grid point exactly at not_before is kept.
    assert timing.next_ideal(at(12), at(12, 5), MIN, None) == at(12, 5)


def test_grid_keeps_its_phase_with_odd_intervals():
    step = dt.timedelta(seconds=7)
    got = timing.next_ideal(at(12), at(12, 1), step, None)
    assert got == at(12) + 9 * step  # 63 s: the first multiple of 7 s at or after 60 s


def test_cron_gives_the_next_matching_time():
    assert timing.next_ideal(at(12), at(12), None, "*/15 * * * *") == at(12, 15)
    assert timing.next_ideal(at(12), at(12, 40), None, "*/15 * * * *") == at(12, 45)
    # A cron time exactly at not_before is kept (cron_after looks from one second earlier).
    assert timing.next_ideal(at(12), at(12, 30), None, "*/15 * * * *") == at(12, 30)


def test_cron_honours_the_day_of_week():
    # 2026-01-05 is a Monday; "every Wednesday at 03:00" is two days later.
    assert timing.cron_after("0 3 * * 3", NOW) == dt.datetime(2026, 1, 7, 3, tzinfo=UTC)


def test_with_repeat_and_cron_the_earlier_wins():
    assert timing.next_ideal(at(12), at(12), dt.timedelta(hours=1), "*/20 * * * *") == at(12, 20)
    assert timing.next_ideal(at(12), at(12), 5 * MIN, "*/20 * * * *") == at(12, 5)


def test_a_task_that_does_not_repeat_has_no_next_ideal():
    assert timing.next_ideal(at(12), at(12), None, None) is None


@pytest.mark.parametrize(
    ("expression", "valid"),
    [("*/5 * * * *", True), ("0 3 * * 1-5", True), ("* * * * * *", False), ("61 * * * *", False)],
)
def test_cron_validity_needs_five_good_fields(expression, valid):
    assert timing.cron_is_valid(expression) is valid


@pytest.mark.parametrize(
    ("slip", "duration", "repeat", "expected"),
    [
        (300, 10, None, 300),  # no repeat: slip as asked
        (30, 10, 60, 30),  # fits within the interval
        (49, 10, 60, 49),  # ends one second before the next interval
        (51, 10, 60, 50),  # one second too many is cut
        (300, 10, 60, 50),  # capped so slip + duration fits the interval
        (300, 90, 60, 0),  # the run is longer than the interval: no slip at all
    ],
)
def test_effective_slip(slip, duration, repeat, expected):
    got = timing.effective_slip(
        dt.timedelta(seconds=slip),
        dt.timedelta(seconds=duration),
        dt.timedelta(seconds=repeat) if repeat else None,
    )
    assert got == dt.timedelta(seconds=expected)
