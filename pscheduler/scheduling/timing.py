"""Schedule arithmetic: resolving ``start``, the repeat grid, cron, and slip (pure functions).

All times are aware UTC datetimes with one-second granularity, as the original's timeline.
"""

from __future__ import annotations

import datetime as dt
import math

from croniter import croniter

from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def whole_second(when: dt.datetime, up: bool = False) -> dt.datetime:
    """Drop fractions of a second (rounding up when asked)."""
    base = when.replace(microsecond=0)
    if up and when.microsecond:
        base += dt.timedelta(seconds=1)
    return base


def round_up(delta: dt.timedelta) -> dt.timedelta:
    return dt.timedelta(seconds=math.ceil(delta.total_seconds()))


def resolve_start(start: str | None, now: dt.datetime) -> dt.datetime | None:
    """``soonest``/absent → None; ``P…`` → now + d; ``@P…`` → next epoch-aligned multiple;
    otherwise an absolute timestamp.  ValueError with a readable message when bad."""
    if start is None or start == "soonest":
        return None
    if start.startswith("@"):
        interval = parse_duration(start[1:]).total_seconds()
        if interval <= 0:
            raise ValueError(f"Invalid start '{start}': the interval must be positive")
        elapsed = (now - EPOCH).total_seconds()
        return EPOCH + dt.timedelta(seconds=(math.floor(elapsed / interval) + 1) * interval)
    if start.startswith("P"):
        return whole_second(now + parse_duration(start), up=True)
    return whole_second(parse_timestamp(start), up=True)


def cron_is_valid(expression: str) -> bool:
    return len(expression.split()) == 5 and croniter.is_valid(expression)


def cron_after(expression: str, after: dt.datetime) -> dt.datetime:
    """The first cron time strictly after ``after``."""
    return croniter(expression, after.astimezone(UTC)).get_next(dt.datetime).astimezone(UTC)


def next_ideal(
    previous: dt.datetime,
    not_before: dt.datetime,
    repeat: dt.timedelta | None,
    cron: str | None,
) -> dt.datetime | None:
    """The ideal start of the run after one ideally at ``previous``.

    Grid points (``previous + k*repeat``) and cron times before ``not_before`` are skipped,
    never back-filled.  With both repeat and cron the earlier wins.  None when the task does
    not repeat.
    """
    candidates = []
    if repeat:
        step = repeat.total_seconds()
        gap = (not_before - previous).total_seconds()
        k = max(1, math.ceil(gap / step)) if gap > 0 else 1
        candidates.append(previous + dt.timedelta(seconds=k * step))
    if cron:
        candidates.append(cron_after(cron, max(previous, not_before - dt.timedelta(seconds=1))))
    return min(candidates) if candidates else None


def effective_slip(
    slip: dt.timedelta, duration: dt.timedelta, repeat: dt.timedelta | None
) -> dt.timedelta:
    """Slip is capped so that slip + duration fits within the repeat interval."""
    if repeat and slip + duration >= repeat:
        return max(dt.timedelta(0), repeat - duration)
    return slip
