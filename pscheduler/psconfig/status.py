"""The agent's report of its last cycle, kept in the node's database (``psconfig_state``)."""

from __future__ import annotations

from pscheduler.db import Database, Queries
from pscheduler.toolkit.iso8601 import format_timestamp


def read(db: Queries) -> dict | None:
    row = db.one("psconfig_state_get")
    if row is None:
        return None
    return {**row["state"], "updated": format_timestamp(row["updated"])}


def write(db: Database, state: dict) -> None:
    db.execute("psconfig_state_put", {"state": state})
