"""Tasks across nodes: the lead's side of creation and the participant's side of being tasked.

Lead (spec/api.md §3.3–3.5): ``create`` wraps ``tasks.create`` with the two seams it offers —
the tool survey of every other participant and the distribution of the stored (disabled) task
to them.  A task whose first participant is another node is handed to that node, which then
leads it.  Participant: ``accept`` stores the lead's copy under the lead's UUID.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import uuid
from typing import Any

from psycopg2.errors import UniqueViolation
from psycopg2.extras import Json

from pscheduler import catalog, plugins
from pscheduler.config import Config
from pscheduler.db import Database
from pscheduler.errors import BadRequest, Forbidden, NotFound, UpstreamError
from pscheduler.hookspecs import PluginError
from pscheduler.node import identity as localhost
from pscheduler.peers import client as peers
from pscheduler.peers import queue as httpqueue
from pscheduler.tasks import create as tasks
from pscheduler.tasks import store
from pscheduler.tasks.spec import task_error
from pscheduler.toolkit.iso8601 import utcnow

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- who is who


def split_host(host: str) -> tuple[str, int | None]:
    """``host[:port]`` (IPv6 bracketed, or bare) → (host, port or None)."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name, int(port) if port.isdigit() else None
    return host, None


def _addresses(name: str) -> set[str]:
    try:
        return {str(ipaddress.ip_address(name))}
    except ValueError:
        pass
    try:
        return {info[4][0].split("%")[0] for info in socket.getaddrinfo(name, None)}
    except (socket.gaierror, UnicodeError):
        return set()


def is_me(host: str | None, config: Config) -> bool:
    """Whether a participant string names this node (its address and port)."""
    if host is None:
        return True
    if host == config.node_address:
        return True
    name, port = split_host(host)
    if port is not None and port != config.listen_port:
        return False
    mine = _addresses(config.listen_host)
    if config.listen_host in ("0.0.0.0", "::"):
        mine = set(localhost.local_addresses())
    mine |= _addresses(config.hostname) if config.hostname else set()
    return bool(_addresses(name) & mine)


def default_bind(config: Config) -> str | None:
    """The local address other nodes see us at: our listen address when it is a specific one."""
    host = config.listen_host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if address.is_unspecified else host


# ---------------------------------------------------------------------------- lead


def _declared_lead(body: Any) -> str | None:
    """The first participant the test names, when the task is good enough to ask."""
    if task_error(body):
        return None
    test_type = body["test"]["type"]
    if test_type not in plugins.registry().tests:
        return None
    try:
        found = catalog.participants(test_type, body["test"]["spec"])["participants"]
    except BadRequest:
        return None
    return found[0] if found else None


def create(
    db: Database, body: Any, hints: dict, config: Config, limits=None
) -> tasks.NewTask | str:
    """Create a task led here (a NewTask), or hand it to the node that leads it (its URL)."""
    lead = _declared_lead(body)
    if lead is not None and not is_me(lead, config):
        try:
            return peers.post_lead_task(lead, body, default_bind(config))
        except peers.PeerError as exc:
            raise UpstreamError(
                f"Error handing the task to its lead {exc.host}: {exc.reason}"
            ) from None
    fallback = default_bind(config)

    def survey(host: str, test_obj: dict, bind: str | None) -> list[dict]:
        try:
            return peers.survey_tools(host, test_obj, bind or fallback)
        except peers.PeerError as exc:
            raise UpstreamError(f"Error getting tools from {exc.host}: {exc.reason}") from None

    return tasks.create(
        db,
        body,
        hints,
        config.node_address,
        limits,
        remote_survey=survey,
        distribute=lambda row: distribute(db, row, fallback),
    )


def _participants_of(row: dict) -> list[str]:
    value = row["participants"]
    return list(value.adapted if isinstance(value, Json) else value)


def distribute(db: Database, row: dict, fallback_bind: str | None = None) -> None:
    """Post the lead's task to every other participant, verify, then enable it here.

    On any failure the copies already made are withdrawn (queued for retry if a DELETE
    fails) and the lead's copy stays disabled; the error names the participant."""
    task_uuid = str(row["uuid"])
    participants = _participants_of(row)
    key = row["participant_key"]
    bind = row.get("lead_bind") or fallback_bind
    body = dict(row["json"] if not isinstance(row["json"], Json) else row["json"].adapted)
    body["participants"] = participants
    if not body.get("_key"):
        body["_key"] = key
    others = list(enumerate(participants))[1:]

    def task_one(item: tuple[int, str]) -> None:
        number, host = item
        peers.post_task(host, task_uuid, number, body, bind)
        peers.get_task(host, task_uuid, bind)

    outcomes = peers.parallel(others, task_one)  # type: ignore[arg-type]
    failed = [(item, err) for item, (_, err) in zip(others, outcomes, strict=True) if err]
    if failed:
        made = [host for (n, host), (_, err) in zip(others, outcomes, strict=True) if err is None]
        withdraw(db, task_uuid, made, key, bind)
        (number, host), err = failed[0]
        raise UpstreamError(f"Error while tasking {host}: {err.reason}")
    db.execute("task_enable", {"uuid": row["uuid"]})


def withdraw(db: Database, task_uuid: str, hosts: list[str], key: str | None, bind: str | None):
    """Delete our task from these participants now, or through the durable queue later."""
    for host, (_, err) in zip(
        hosts,
        peers.parallel(hosts, lambda h: peers.delete_task(h, task_uuid, key, bind)),
        strict=True,
    ):
        if err is not None:
            httpqueue.enqueue(
                db,
                "DELETE",
                peers.url(host, f"/tasks/{task_uuid}"),
                {"key": key} if key else {},
                bind,
            )


# ---------------------------------------------------------------------------- participant


def accept(
    db: Database, task_uuid: str, number_raw: str | None, body: Any, hints: dict, limits=None
) -> None:
    """Store a lead's task as participant ``number`` (POST /tasks/<uuid>?participant=N)."""
    try:
        value = uuid.UUID(task_uuid)
    except ValueError:
        raise NotFound() from None
    try:
        number = int(number_raw or "")
    except ValueError:
        number = 0
    if number < 1:
        raise BadRequest("Invalid participant: Invalid cardinal; expecting integer > 0")
    error = task_error(body)
    if error:
        raise BadRequest(f"Invalid JSON: {error}")
    participants = body.get("participants")
    if not isinstance(participants, list) or number >= len(participants):
        raise BadRequest("Task error: the task has no participant list with this participant in it")
    test_type = body["test"]["type"]
    if test_type not in plugins.registry().tests:
        raise BadRequest(f"Task error: no test '{test_type}' is available")
    verdict = catalog.spec_is_valid(test_type, body["test"]["spec"])
    if not verdict["valid"]:
        raise BadRequest(f"Task error: invalid test specification: {verdict.get('error')}")
    tool_name = body.get("tool")
    tool = plugins.registry().tools.get(tool_name or "")
    if tool is None:
        raise BadRequest(f"Task error: no tool '{tool_name}' is available")
    diags = "No limits were applied"
    if limits is not None:
        outcome = limits.process(body, hints, rewrite=False, prioritize=False)
        if not outcome.passed:
            raise Forbidden("Task forbidden by limits:\n" + outcome.diags)
        diags = outcome.diags
    now = utcnow()
    try:
        schedule = tasks.resolve_schedule(body, now)
    except BadRequest as exc:
        raise BadRequest(f"Task error: {exc.message}") from None
    try:
        row = store.new_row(
            task_uuid=value,
            task=body,
            tool=tool_name,
            participants=participants,
            participant=number,
            participant_key=body.get("_key"),  # the lead's: it unlocks this copy (tasks.access)
            enabled=True,
            hints=hints,
            diags=diags,
            schedule=schedule,
            priority=body.get("priority"),
            next_ideal=None,  # the lead schedules; a participant never places runs itself
            lead_bind=None,
        )
    except PluginError as exc:
        raise BadRequest(f"Task error: {exc}") from None
    try:
        store.insert(db, row)
    except UniqueViolation:
        raise BadRequest(
            "Task error: Task already exists.  All participants must be on separate systems."
        ) from None
