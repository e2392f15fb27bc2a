"""Node health: heartbeats, pause state and run counters for /status and /stat."""

from __future__ import annotations

import datetime as dt
import os

from pscheduler.db import Database, Queries
from pscheduler.toolkit.iso8601 import duration_to_iso, format_timestamp


def beat(db: Database, name: str, next_time: float, boot: bool = False) -> None:
    """Record that ``name`` is alive and when it expects to beat again."""
    db.execute(
        "heartbeat_boot" if boot else "heartbeat",
        {"name": name, "next_time": dt.timedelta(seconds=next_time), "pid": os.getpid()},
    )


def services(db: Queries) -> dict:
    out = {}
    for row in db.all("heartbeats"):
        out[row["name"]] = {
            "uptime": duration_to_iso(row["uptime"]),
            "updates": row["updates"],
            "last": format_timestamp(row["last"]),
            "next_time": duration_to_iso(row["next_time"]),
            "expected": format_timestamp(row["expected"]),
            "overdue": duration_to_iso(row["overdue"]),
        }
    return out


def node_status(db: Queries, limits_status: dict) -> dict:
    times = db.one("runs_last_times") or {}
    return {
        "time": format_timestamp(dt.datetime.now(dt.timezone.utc)),
        "limits": limits_status,
        "services": services(db),
        "runs": {
            "last-finished": format_timestamp(times.get("last_finished")),
            "last-scheduled": format_timestamp(times.get("last_scheduled")),
        },
    }


def pause_state(db: Database) -> dict:
    row = db.one("pause_state")
    if not row or not row["is_paused"]:
        return {"is_paused": False}
    state = {"is_paused": True, "infinite": bool(row["infinite"])}
    if not row["infinite"]:
        state["remaining"] = duration_to_iso(row["remaining"])
    return state


def pause(db: Database, duration: dt.timedelta | None) -> None:
    db.execute("pause", {"duration": duration})


def resume(db: Database) -> None:
    db.execute("resume")


def horizon(db: Database) -> dt.timedelta:
    return db.one("configurables")["schedule_horizon"]


def count_runs(db: Database, state: str, start: dt.datetime | None, end: dt.datetime | None) -> int:
    if start and end and start > end:
        start, end = end, start
    if start is None and end is None:  # the common case: kept counts, no scan
        return db.one("count_runs_in_state_all", {"state": state})["count"]
    return db.one("count_runs_in_state", {"state": state, "start": start, "end": end})["count"]
