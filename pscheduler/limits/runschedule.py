"""The ``run-schedule`` and ``run-daterange`` limits: when a run may happen.

Both only judge proposals that carry ``run_schedule: {start, duration}`` (run placement);
without it they pass, since a task submission has no run time yet.  The run occupies
``[start, start + duration)``.

Fixed against the original: ``week`` loads; a run crossing a wrap point (23:59 -> 00:01)
covers the values up to the wrap and from the start of the cycle; a run longer than a
whole cycle covers every value; ranges in the file with ``lower > upper`` wrap
(``{"lower": 22, "upper": 2}`` is 22, 23, 0, 1, 2); weekday 0 means Sunday like 7; and
``run-daterange`` accepts an open start or end (at least one is required).
"""

from __future__ import annotations

import datetime as dt

from pscheduler.limits.schemas import TIMESTAMP
from pscheduler.toolkit import parse_duration, parse_timestamp


def _unit_schema(low: int, high: int) -> dict:
    value = {"type": "integer", "minimum": low, "maximum": high}
    ranged = {
        "type": "object",
        "properties": {"lower": value, "upper": value},
        "required": ["lower", "upper"],
        "additionalProperties": False,
    }
    return {"type": "array", "items": {"anyOf": [value, ranged]}}


# unit -> (lowest, highest) allowed in the file
UNITS = {
    "year": (1, 9999),
    "month": (1, 12),
    "week": (1, 53),
    "weekday": (0, 7),
    "day": (1, 31),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}

SCHEDULE_SCHEMA = {
    "type": "object",
    "properties": {
        **{u: _unit_schema(*r) for u, r in UNITS.items()},
        "overlap": {"type": "boolean"},
    },
    "additionalProperties": False,
}

DATERANGE_SCHEMA = {
    "type": "object",
    "properties": {"start": TIMESTAMP, "end": TIMESTAMP, "overlap": {"type": "boolean"}},
    "anyOf": [{"required": ["start"]}, {"required": ["end"]}],
    "additionalProperties": False,
}


def run_window(task: dict) -> tuple[dt.datetime, dt.datetime] | None:
    """The run's [start, end) from ``run_schedule``, or None when the proposal has none."""
    schedule = task.get("run_schedule")
    if not schedule:
        return None
    start = parse_timestamp(schedule["start"])
    return start, start + parse_duration(schedule.get("duration", "P0D"))


def _flatten(unit: str, items: list) -> set[int]:
    low, high = UNITS[unit]
    values: set[int] = set()
    for item in items:
        if isinstance(item, dict):
            lower, upper = item["lower"], item["upper"]
            if lower <= upper:
                values.update(range(lower, upper + 1))
            else:  # wraps around the end of the cycle
                values.update(range(lower, high + 1))
                values.update(range(low, upper + 1))
        else:
            values.add(item)
    if unit == "weekday" and 0 in values:
        values.discard(0)
        values.add(7)
    return values


def _covered(unit: str, start: dt.datetime, last: dt.datetime) -> set[int]:
    """Values of ``unit`` that the instants start..last (inclusive) pass through."""
    if unit == "year":
        return set(range(start.year, last.year + 1))
    if unit == "month":
        months = (last.year - start.year) * 12 + last.month - start.month
        if months >= 11:
            return set(range(1, 13))
        return {(start.month - 1 + i) % 12 + 1 for i in range(months + 1)}
    if unit in ("second", "minute", "hour"):
        size, step = {"second": (60, 1), "minute": (60, 60), "hour": (24, 3600)}[unit]
        if (last - start).total_seconds() >= size * step:
            return set(range(size))
        trim = {"second": {}, "minute": {"second": 0}, "hour": {"minute": 0, "second": 0}}[unit]
        moment = start.replace(microsecond=0, **trim)
        values = set()
        while moment <= last:  # at most size + 1 steps
            values.add(getattr(moment, unit))
            moment += dt.timedelta(seconds=step)
        return values
    # Day-based units: walk the calendar days the run touches (bounded by the cycle).
    days = (last.date() - start.date()).days
    limit = {"day": 31, "weekday": 7, "week": 371}[unit]
    if days >= limit:
        if unit == "day":
            return set(range(1, 32))
        if unit == "weekday":
            return set(range(1, 8))
    values = set()
    for i in range(min(days, limit) + 1):
        day = start.date() + dt.timedelta(days=i)
        if unit == "day":
            values.add(day.day)
        elif unit == "weekday":
            values.add(day.isoweekday())
        else:
            values.add(day.isocalendar()[1])
    return values


class RunSchedule:
    SCHEMA = SCHEDULE_SCHEMA
    checks_schedule = True

    def __init__(self, data: dict):
        self.overlap = data.get("overlap", False)
        self.matches = {u: _flatten(u, data[u]) for u in UNITS if u in data}

    def evaluate(self, proposal: dict) -> tuple[bool, list[str]]:
        window = run_window(proposal["task"])
        if window is None:
            return True, []
        start, end = window
        last = end - dt.timedelta(microseconds=1) if end > start else start
        failures = []
        for unit, allowed in self.matches.items():
            covered = _covered(unit, start, last)
            ok = bool(covered & allowed) if self.overlap else covered <= allowed
            if not ok:
                failures.append(f"Mismatch on {unit}")
        return not failures, failures


class RunDateRange:
    SCHEMA = DATERANGE_SCHEMA
    checks_schedule = True

    def __init__(self, data: dict):
        self.start = parse_timestamp(data["start"]) if "start" in data else None
        self.end = parse_timestamp(data["end"]) if "end" in data else None
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        self.overlap = data.get("overlap", False)

    def evaluate(self, proposal: dict) -> tuple[bool, list[str]]:
        window = run_window(proposal["task"])
        if window is None:
            return True, []
        start, end = window
        lower = self.start or dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        upper = self.end or dt.datetime.max.replace(tzinfo=dt.timezone.utc)
        if self.overlap:
            ok = start < upper and (end > lower if end > start else start >= lower)
        else:
            ok = start >= lower and end <= upper
        return ok, ([] if ok else ["Ranges do not match"])
