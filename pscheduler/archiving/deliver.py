"""Archiving results: default archives, claiming due archivings, one attempt, its outcome.

The database creates one archiving row per (finished run, archive) by itself (migration
003).  The archiver daemon claims due rows under a lease, runs ``attempt`` for each in a
thread and records the outcome with ``record_outcome``.  A row stays claimed only while its
lease runs: a killed archiver's rows are claimed again (at-least-once delivery).  The retry
policy belongs to the plugin; the daemon honours its ``retry`` answer and the archive's
``ttl``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any

from psycopg2.extras import Json

from pscheduler import plugins, wire
from pscheduler.archiving.record import build_record
from pscheduler.db import Database, query
from pscheduler.hookspecs import PluginError
from pscheduler.tasks.spec import ARCHIVE
from pscheduler.toolkit.iso8601 import format_timestamp, parse_duration, utcnow
from pscheduler.toolkit.jqfilter import apply_transform, compile_error
from pscheduler.toolkit.jsonval import schema_error

log = logging.getLogger(__name__)

# How long a claim holds without renewal; the daemon renews it while an attempt runs.
LEASE = dt.timedelta(seconds=60)
# An attempt with no answer after this long is a permanent failure (as the original's PT2M).
ATTEMPT_TIMEOUT = dt.timedelta(minutes=2)
DEFAULT_ARCHIVES_DIR = "default-archives"
STOPPED_BY_TRANSFORM = "Archiving stopped by transform."


# ---------------------------------------------------------------------------- default archives


def validate_archive(spec: Any) -> str | None:
    """Why an archive spec (as in a task's ``archives``) is unusable, or None."""
    error = schema_error(ARCHIVE, spec)
    if error:
        return error
    plugin = plugins.registry().archivers.get(spec["archiver"])
    if plugin is None:
        return f"No archiver '{spec['archiver']}' is available"
    try:
        verdict = plugins.data_is_valid(plugin, spec.get("data"))
    except (PluginError, plugins.PluginFailure) as exc:
        return f"Unable to validate archiver data: {exc}"
    if not verdict["valid"]:
        return f"Invalid archiver data: {verdict.get('error') or 'Unspecified error'}"
    if "transform" in spec:
        error = compile_error(spec["transform"])
        if error:
            return f"Invalid transform: {error}"
    return None


def load_default_archives(directory: str | Path) -> tuple[list[tuple[str, dict]], list[str]]:
    """The valid archives of every ``*.json`` file in ``directory`` and the errors.

    A file holds one archive spec or a list of them.  Each error names the file (and entry)
    and says what is wrong; the bad entry is skipped, the others are kept.
    """
    folder = Path(directory)
    found: list[tuple[str, dict]] = []
    errors: list[str] = []
    if not folder.is_dir():
        return found, errors
    for path in sorted(folder.iterdir()):
        if not path.name.endswith(".json") or path.name.startswith("."):
            continue
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"Default archive {path}: cannot read it: {exc}")
            continue
        except ValueError as exc:
            errors.append(f"Default archive {path}: invalid JSON: {exc}")
            continue
        entries = content if isinstance(content, list) else [content]
        for index, spec in enumerate(entries):
            source = path.name if not isinstance(content, list) else f"{path.name}[{index}]"
            error = validate_archive(spec)
            if error:
                where = f"{path}" if not isinstance(content, list) else f"{path} entry {index}"
                errors.append(f"Default archive {where}: {error}")
                continue
            found.append((source, spec))
    return found, errors


def directory_signature(directory: str | Path) -> tuple:
    """Changes whenever a file in the directory is added, removed or modified."""
    folder = Path(directory)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return ()
    signature = []
    for entry in entries:
        try:
            st = entry.stat()
        except OSError:
            continue
        signature.append((entry.name, st.st_mtime_ns, st.st_ctime_ns, st.st_size))
    return tuple(signature)


def store_default_archives(db: Database, archives: list[tuple[str, dict]]) -> None:
    """Replace the node's default archives in one transaction."""
    with db.transaction() as cur:
        cur.execute(query("archive_default_clear"))
        for source, spec in archives:
            cur.execute(query("archive_default_add"), {"source": source, "spec": Json(spec)})


# ---------------------------------------------------------------------------- claiming


def release_previous(db: Database, name: str = "archiver") -> int:
    """At start: free the claims of the archiver this process replaces (it is dead)."""
    row = db.one("archiver_previous_pid", {"name": name})
    if not row or row["pid"] is None or row["pid"] == os.getpid():
        return 0
    return len(db.all("archiving_release", {"holder": row["pid"]}))


def claim(db: Database, holder: int, limit: int) -> list[dict]:
    """Lease up to ``limit`` due archivings to ``holder``, with their runs."""
    if limit <= 0:
        return []
    with db.transaction() as cur:
        cur.execute(query("archiving_relaxed_commit"))  # a lost claim is claimed again
        cur.execute(query("archiving_claim"), {"holder": holder, "limit": limit, "lease": LEASE})
        return cur.fetchall()


def renew(db: Database, holder: int, ids: list[int]) -> None:
    if ids:
        db.execute("archiving_renew", {"holder": holder, "ids": ids, "lease": LEASE})


def expire(db: Database) -> int:
    """Complete (not archived) every archiving whose time to live has passed."""
    return len(db.all("archiving_expire", {"time": format_timestamp(utcnow())}))


def next_due(db: Database, holder: int) -> float | None:
    """Seconds until an archiving not held by ``holder`` falls due; None when none will."""
    row = db.one("archiving_next_due", {"holder": holder})
    return None if row is None or row["wait"] is None else float(row["wait"])


def backlog(db: Database) -> int:
    return int(db.one("archiving_backlog")["count"])


def upcoming(db: Database) -> int:
    return int(db.one("archiving_upcoming")["count"])


# ---------------------------------------------------------------------------- one attempt


@dataclasses.dataclass
class Outcome:
    """What one attempt came to."""

    succeeded: bool
    message: str | None = None
    retry: dt.timedelta | None = None  # set: try again after this long
    detail: str | None = None  # long text for the log and key holders, never the public

    @property
    def completed(self) -> bool:
        return self.succeeded or self.retry is None


@dataclasses.dataclass
class Node:
    """What a record needs to know about this node."""

    base: str  # https://host:port/pscheduler
    host: str  # host[:port], for null participants


def task_rows(db: Database, task_uuids: set) -> dict:
    """The task rows (with run counts) of a batch, by UUID: one query per task, not per row."""
    return {u: db.one("task_by_uuid", {"uuid": u}) for u in task_uuids}


def make_record(row: dict, task_row: dict, node: Node) -> dict:
    """The plugin's input record for a claimed row (spec/plugins.md §3.3)."""
    task_href = f"{node.base}/tasks/{task_row['uuid']}"
    run_href = f"{task_href}/runs/{row['uuid']}"
    task_json = wire.task_json(task_row, task_href, with_detail=True)
    run_json = wire.run_json(row, task_row, task_href, node.host)
    tool = plugins.registry().tools.get(task_row["tool"])
    spec = row["archiving_spec"]
    return build_record(
        data=spec.get("data"),
        task=task_json,
        run={**run_json, "id": str(row["uuid"])},
        result=row["result_merged"],
        task_href=task_href,
        run_href=run_href,
        tool={
            "name": task_row["tool"],
            "version": tool.enumeration.get("version") if tool is not None else None,
        },
        participants=list(task_row["participants"]),
        local_host=node.host,
        attempts=row["archiving_attempts"],
        last_attempt=row["archiving_last_attempt"],
        uri_host=spec.get("uri-host"),
    )


def _parse_retry(value: Any) -> dt.timedelta | None:
    if not isinstance(value, str):
        return None
    try:
        delay = parse_duration(value)
    except ValueError:
        return None
    return max(delay, dt.timedelta(0))


def attempt(row: dict, task_row: dict | None, node: Node) -> Outcome:
    """Build the record, apply the transform, call the plugin; never raises."""
    spec = row["archiving_spec"]
    if task_row is None:
        return Outcome(False, "The task of this run no longer exists")
    plugin = plugins.registry().archivers.get(row["archiving_archiver"])
    if plugin is None:
        return Outcome(False, f"No archiver '{row['archiving_archiver']}' is available")
    try:
        record = make_record(row, task_row, node)
    except Exception as exc:  # noqa: BLE001 - a bad row must end as a diagnostic
        log.exception("Building the record of archiving %s failed", row["archiving_id"])
        return Outcome(False, f"Unable to build the record: {exc}")
    if "transform" in spec:
        value, error = apply_transform(spec["transform"], record["result"])
        if error is not None:
            return Outcome(False, f"Transform failed: {error}")
        if value is None:
            return Outcome(True, STOPPED_BY_TRANSFORM)
        record["result"] = value
    try:
        answer = plugins.call(plugin, "archive", record)
    except (PluginError, plugins.PluginFailure) as exc:
        return Outcome(False, f"Possibly-permanent archiver error: {exc}")
    if not isinstance(answer, dict) or not isinstance(answer.get("succeeded"), bool):
        return Outcome(False, f"Possibly-permanent archiver error: unusable answer {answer!r:.200}")
    if answer["succeeded"]:
        return Outcome(True)
    error = str(answer.get("error") or "Unspecified error")
    detail = answer.get("detail")
    detail = str(detail)[:4000] if detail is not None else None
    if detail:
        log.info("Archiving %s to %s: %s", row["archiving_id"], plugin.enumeration["name"], detail)
    if "retry" in answer:
        delay = _parse_retry(answer["retry"])
        if delay is None:
            return Outcome(
                False, f"{error} (invalid retry {answer['retry']!r}; giving up)", detail=detail
            )
        return Outcome(False, error, delay, detail)
    return Outcome(False, error, detail=detail)


def record_outcome(
    db: Database, row: dict, holder: int, outcome: Outcome, when: dt.datetime | None = None
) -> bool:
    """Store an attempt; False when the row was no longer this holder's (outcome dropped)."""
    when = when or utcnow()
    next_attempt = None
    if not outcome.completed:
        next_attempt = when + outcome.retry
        expires = row.get("archiving_ttl_expires")
        if expires is not None and next_attempt > expires:
            next_attempt = expires  # the row expires then, rather than wait for nothing
    diag = {
        "time": format_timestamp(when, fraction=True),
        "succeeded": outcome.succeeded,
        "attempt": True,
        "message": outcome.message,
        "next-attempt": format_timestamp(next_attempt, fraction=True),
    }
    if outcome.detail:
        diag["_detail"] = outcome.detail  # sanitised away unless the task's key is given
    params = {
        "id": row["archiving_id"],
        "holder": holder,
        "time": when,
        "completed": outcome.completed,
        "archived": outcome.succeeded,
        "next_attempt": next_attempt,
        "diag": json.dumps(diag),
    }
    with db.transaction() as cur:
        # Losing this commit in a crash only means sending the result again (at-least-once),
        # so it need not wait for the WAL flush.
        cur.execute(query("archiving_relaxed_commit"))
        cur.execute(query("archiving_record_attempt"), params)
        return cur.fetchone() is not None
