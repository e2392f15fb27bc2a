"""Shared by the run fault tests (stuck runs, runner kill): SQL on a node's own database and
what an archive sink received per run."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import psycopg2
import psycopg2.extras

from pscheduler.toolkit.killpoint import ENV as KILLPOINTS
from pscheduler.toolkit.vocabulary import UNFINISHED_STATES
from tests.helpers import ALLOW_LOOPBACK_SINKS, Node

_shared: dict = {}


def shared_fault_node(cluster):
    """For a session fixture: one node for the run fault tests of every module (a node start
    is the slow part).  Archives may reach loopback sinks, and a file created in
    ``node.killpoints`` kills the process that reaches the point of that name."""
    if "node" not in _shared:
        points = Path(tempfile.mkdtemp(prefix="pscheduler-killpoints-"))
        env = {**ALLOW_LOOPBACK_SINKS, KILLPOINTS: str(points)}
        node = Node(cluster.new_database(), env=env)
        node.killpoints = points
        _shared["node"] = node.start()
    yield _shared["node"]
    node = _shared.pop("node", None)
    if node is not None:
        node.cleanup()
        for leftover in node.killpoints.iterdir():
            leftover.unlink()
        node.killpoints.rmdir()


@contextlib.contextmanager
def sql(node):
    """A cursor on the node's database (autocommit), for what no API may do: forcing states."""
    conn = psycopg2.connect(node.dsn)
    conn.autocommit = True
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            yield cur
    finally:
        conn.close()


def runs_of(node, task_uuid: str) -> dict[str, dict]:
    """Every run of a task by UUID: state, results, errors, archivings made for it."""
    with sql(node) as cur:
        cur.execute(
            """SELECT r.uuid::text AS uuid, r.state, r.result, r.result_merged, r.errors,
                      (SELECT count(*) FROM archiving a WHERE a.run = r.id) AS archivings,
                      (SELECT count(*) FROM archiving a WHERE a.run = r.id AND NOT a.completed)
                        AS pending_archivings
               FROM run r JOIN task t ON t.id = r.task WHERE t.uuid = %s""",
            (task_uuid,),
        )
        return {row["uuid"]: row for row in cur.fetchall()}


def transitional(node) -> list[dict]:
    """Runs of the node in a transitional state whose time is over (there must be none)."""
    with sql(node) as cur:
        cur.execute(
            "SELECT uuid::text, state FROM run WHERE state = ANY(%s) AND upper(times) < now()",
            (list(UNFINISHED_STATES),),
        )
        return cur.fetchall()


def received_by_run(sink) -> dict[str, int]:
    """How many times the sink received each run (by the run UUID in the archived record)."""
    counts: dict[str, int] = {}
    for entry in sink.received:
        run_id = entry["body"]["id"]
        counts[run_id] = counts.get(run_id, 0) + 1
    return counts


def ticker_passes(node) -> int:
    """The ticker's heartbeat count: two more passes mean a whole sweep ran since."""
    with sql(node) as cur:
        cur.execute("SELECT updates FROM heartbeat WHERE name = 'ticker'")
        row = cur.fetchone()
        return row["updates"] if row else 0
