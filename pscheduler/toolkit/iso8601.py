"""ISO 8601 timestamps and durations as pScheduler writes them on the wire.

Durations use W/D/H/M/S only (no years or months, whose length varies), and zero is ``P0D``
as the original prints it.
"""

from __future__ import annotations

import datetime as dt
import re

import isodate

_UTC = dt.timezone.utc


def utcnow() -> dt.datetime:
    return dt.datetime.now(_UTC)


_PG_MAX_OFFSET = dt.timedelta(hours=16)


def parse_timestamp(text: str) -> dt.datetime:
    """Parse an ISO 8601 date-time; naive values are taken as UTC.  ValueError when bad."""
    if not isinstance(text, str) or "T" not in text:
        raise ValueError(f"Invalid ISO8601 date: {text!r}")
    try:
        value = isodate.parse_datetime(text.strip())
    except (isodate.ISO8601Error, ValueError, TypeError) as exc:
        raise ValueError(f"Invalid ISO8601 date: {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    elif abs(value.utcoffset()) >= _PG_MAX_OFFSET:
        # Python takes offsets up to 24 h, PostgreSQL only below 16 h: same instant in UTC.
        try:
            value = value.astimezone(_UTC)
        except OverflowError:
            raise ValueError(f"Invalid ISO8601 date: {text!r} (out of range)") from None
    return value


def parse_when(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """An ISO 8601 timestamp, or ``+<duration>`` / ``-<duration>`` from ``now``, as query
    strings carry times.  An unencoded ``+`` in a query string arrives as a space, so a
    leading space means ``+``.  ValueError when bad."""
    if text[:1] == " ":
        text = "+" + text[1:]
    if text[:1] in ("+", "-") and text[1:2] == "P":
        delta = parse_duration(text[1:])
        now = now or utcnow()
        return now + delta if text[0] == "+" else now - delta
    return parse_timestamp(text)


def format_timestamp(value: dt.datetime | None, fraction: bool = False) -> str | None:
    """Timestamps as PostgreSQL's JSON form: ``2024-05-01T10:00:03+00:00``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    if not fraction:
        value = value.replace(microsecond=0)
    return value.isoformat()


_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<w>\d+(?:[.,]\d+)?)W)?(?:(?P<d>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<m>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)


def parse_duration(text: str) -> dt.timedelta:
    """Parse an ISO 8601 duration limited to W/D/H/M/S.  ValueError when bad."""
    if not isinstance(text, str):
        raise ValueError(f"Invalid ISO8601 duration: {text!r}")
    match = _DURATION_RE.match(text.strip().upper())
    if not match:
        raise ValueError(f"Invalid ISO8601 duration: {text!r}")

    def part(name: str) -> float:
        value = match.group(name)
        return float(value.replace(",", ".")) if value else 0.0

    return dt.timedelta(
        weeks=part("w"), days=part("d"), hours=part("h"), minutes=part("m"), seconds=part("s")
    )


def duration_to_iso(value: dt.timedelta | float | int | None) -> str | None:
    """Format a duration the way the original does (``P1DT2H3M4.5S``, ``P0D`` for zero)."""
    if value is None:
        return None
    if not isinstance(value, dt.timedelta):
        value = dt.timedelta(seconds=value)
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    out = "P"
    if days:
        out += f"{int(days)}D"
    time_part = ""
    if hours:
        time_part += f"{int(hours)}H"
    if minutes:
        time_part += f"{int(minutes)}M"
    if seconds:
        secs = round(seconds, 6)
        time_part += f"{int(secs)}S" if secs == int(secs) else f"{secs:.6f}".rstrip("0") + "S"
    if time_part:
        out += "T" + time_part
    if out == "P":
        out = "P0D"
    return sign + out
