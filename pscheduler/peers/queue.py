"""The durable outgoing HTTP queue: requests to other nodes that must happen eventually.

Rows are inserted in the transaction that needs them (a lead task's cancellation queues a
DELETE per participant by trigger, see migration 004), so nothing is lost when a participant
or a process is down.  The ticker sends due requests, deleting each row that got an answer
meaning "done" (2xx, or 404/410: already gone) and retrying the others with exponential
backoff until the row expires.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import requests

from pscheduler.db import Database, query
from pscheduler.peers.client import _session
from pscheduler.toolkit.iso8601 import utcnow

log = logging.getLogger(__name__)

RETRY_ENV = "PSCHEDULER_HTTP_QUEUE_RETRY"  # seconds before the first retry (tests use < 1)
DONE = (404, 410)


def retry_base() -> float:
    try:
        return max(0.05, float(os.environ.get(RETRY_ENV, "15")))
    except ValueError:
        return 15.0


def backoff(attempts: int, base: float | None = None) -> float:
    """Delay after ``attempts`` failures: base, 2×base, 4×base … capped at 60×base (1 h max)."""
    base = retry_base() if base is None else base
    return min(base * (2 ** max(0, attempts - 1)), base * 60, 3600.0)


def enqueue(
    db: Database,
    method: str,
    url: str,
    params: dict | None = None,
    bind: str | None = None,
    body: dict | None = None,
) -> None:
    db.execute(
        "http_queue_insert",
        {"method": method, "url": url, "params": params or {}, "body": body, "bind": bind},
    )


def counts(db: Database) -> dict:
    row = db.one("http_queue_counts") or {}
    return {"backlog": row.get("backlog", 0), "length": row.get("length", 0)}


def _send(row: dict, default_bind: str | None, timeout: float) -> str | None:
    """None when the request is done, else why it must be retried."""
    kwargs = {"params": row["params"] or None, "timeout": timeout, "verify": False}
    if row["body"] is not None:
        kwargs["json"] = row["body"]
    try:
        response = _session(row["bind"] or default_bind).request(
            row["method"], row["url"], **kwargs
        )
    except requests.RequestException as exc:
        return f"no answer: {str(exc)[:200]}"
    if response.ok or response.status_code in DONE:
        return None
    return f"status {response.status_code}: {response.text.strip()[:200]}"


def process(db: Database, default_bind: str | None = None, timeout: float = 5.0) -> float:
    """Send what is due; returns seconds until the next row is due (at most 60)."""
    for gone in db.all("http_queue_expire"):
        log.warning(
            "Gave up on %s %s after its time to live: %s",
            gone["method"],
            gone["url"],
            gone["last_error"],
        )
    with db.transaction() as cur:
        cur.execute(query("http_queue_due"), {"limit": 50})
        rows = cur.fetchall()
        # In parallel: one participant that swallows packets must not hold up the others.
        with ThreadPoolExecutor(max_workers=max(1, min(16, len(rows)))) as pool:
            errors = list(pool.map(lambda r: _send(r, default_bind, timeout), rows))
        for row, error in zip(rows, errors, strict=True):
            if error is None:
                log.info("Sent queued %s %s", row["method"], row["url"])
                cur.execute(query("http_queue_done"), {"id": row["id"]})
            else:
                delay = backoff(row["attempts"] + 1)
                log.info(
                    "Queued %s %s failed (%s); retry in %.1f s",
                    row["method"],
                    row["url"],
                    error,
                    delay,
                )
                cur.execute(
                    query("http_queue_retry"),
                    {"id": row["id"], "error": error, "delay": dt.timedelta(seconds=delay)},
                )
    nxt = db.one("http_queue_next")
    if not nxt or nxt["due"] is None:
        return 60.0
    return max(0.0, min(60.0, (nxt["due"] - utcnow()).total_seconds()))
