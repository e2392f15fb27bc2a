"""A task's schedule as the lead resolves it at creation, with a fixed clock."""

from __future__ import annotations

import datetime as dt

import pytest

from pscheduler.errors import BadRequest
from pscheduler.tasks.create import resolve_schedule

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def resolve(**schedule) -> dict:
    return resolve_schedule({"schedule": schedule}, NOW)


def test_an_empty_schedule_runs_once_as_soon_as_possible():
    got = resolve()
    assert got["start"] is None and got["repeat"] is None and got["max_runs"] == 1
    assert got["slip"] == dt.timedelta(0) and got["sliprand"] is False


def test_a_missing_schedule_is_a_clear_bad_request():
    with pytest.raises(BadRequest, match="'schedule' is a required property"):
        resolve_schedule({}, NOW)


def test_relative_and_aligned_starts_are_resolved_against_the_clock():
    assert resolve(start="PT5M")["start"] == NOW + dt.timedelta(minutes=5)
    assert resolve(start="@PT1H")["start"] == NOW + dt.timedelta(hours=1)
    with pytest.raises(BadRequest, match="At /schedule/start"):
        resolve(start="@PT0S")


def test_until_may_be_relative_and_must_follow_now_and_the_start():
    got = resolve(repeat="PT1M", until="PT1H")
    assert got["until"] == NOW + dt.timedelta(hours=1) and got["max_runs"] is None
    with pytest.raises(BadRequest, match="must be in the future"):
        resolve(repeat="PT1M", until="2026-01-05T11:00:00Z")
    with pytest.raises(BadRequest, match="must be after the start"):
        resolve(repeat="PT1M", start="PT2H", until="PT1H")
    with pytest.raises(BadRequest, match="is not an ISO 8601 timestamp or duration"):
        resolve(repeat="PT1M", until="later")


def test_max_runs_is_kept_for_repeating_tasks_and_one_otherwise():
    assert resolve(repeat="PT1M", **{"max-runs": 5})["max_runs"] == 5
    assert resolve(**{"repeat-cron": "*/5 * * * *", "max-runs": 2})["max_runs"] == 2
    assert resolve(**{"max-runs": 5})["max_runs"] == 1


def test_repeat_and_cron_are_checked():
    with pytest.raises(BadRequest, match="at least PT1S"):
        resolve(repeat="PT0.5S")
    with pytest.raises(BadRequest, match="not a valid five-field cron"):
        resolve(**{"repeat-cron": "* * * * * *"})
