"""Tasks: creation on the lead (validation, tool choice, limits).

This is the domain behind ``/tasks``; it knows nothing of Flask.  ``create`` follows
spec/api.md §3 but answers every rejection with a 4xx naming the field, where the original
let the database refuse the task with a 500.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import secrets
import socket
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pscheduler import catalog, plugins
from pscheduler.db import Database
from pscheduler.errors import BadRequest, Forbidden, Unprocessable
from pscheduler.hookspecs import PluginError
from pscheduler.limits import LimitConfigError
from pscheduler.node.identity import is_local_address
from pscheduler.scheduling import timing
from pscheduler.tasks import store
from pscheduler.tasks.spec import task_error
from pscheduler.toolkit.iso8601 import parse_duration, utcnow
from pscheduler.toolkit.jqfilter import compile_error

log = logging.getLogger(__name__)


RemoteSurvey = Callable[[str, dict, "str | None"], list[dict]]


class LimitChecker(Protocol):
    def process(self, task: dict, hints: dict, rewrite: bool, prioritize: bool) -> Any: ...


@dataclass
class NewTask:
    uuid: uuid.UUID
    participants: list[str]
    detail: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- validation


def resolve_schedule(task: dict, now: dt.datetime) -> dict:
    sched = task.get("schedule")
    if sched is None:
        raise BadRequest(
            "Invalid task specification: At /: 'schedule' is a required property "
            "(use {} to run once, as soon as possible)"
        )
    try:
        start = timing.resolve_start(sched.get("start"), now)
    except ValueError as exc:
        raise BadRequest(f"Invalid task specification: At /schedule/start: {exc}") from None
    slip = parse_duration(sched.get("slip", "P0D"))
    repeat = parse_duration(sched["repeat"]) if "repeat" in sched else None
    if repeat is not None and repeat.total_seconds() < 1:
        raise BadRequest("Invalid task specification: At /schedule/repeat: must be at least PT1S")
    cron = sched.get("repeat-cron")
    if cron is not None and not timing.cron_is_valid(cron):
        raise BadRequest(
            f"Invalid task specification: At /schedule/repeat-cron: "
            f"'{cron}' is not a valid five-field cron specification"
        )
    until = None
    if "until" in sched:
        raw = sched["until"]
        try:
            until = timing.resolve_start(raw, now)
        except ValueError:
            raise BadRequest(
                f"Invalid task specification: At /schedule/until: '{raw}' is not "
                "an ISO 8601 timestamp or duration"
            ) from None
        if until is None or until <= now:
            raise BadRequest(
                "Invalid task specification: At /schedule/until: must be in the future"
            )
        if start is not None and until <= start:
            raise BadRequest(
                "Invalid task specification: At /schedule/until: must be after the start"
            )
    max_runs = sched.get("max-runs")
    if repeat is None and cron is None:
        max_runs = 1
    return {
        "start": start,
        "slip": slip,
        "sliprand": bool(sched.get("sliprand", False)),
        "repeat": repeat,
        "repeat_cron": cron,
        "until": until,
        "max_runs": max_runs,
    }


def _validate_archives(archives: list[dict]) -> None:
    for index, archive in enumerate(archives):
        name = archive["archiver"]
        plugin = plugins.registry().archivers.get(name)
        if plugin is None:
            raise BadRequest(
                f"Invalid archive at /archives/{index}: no archiver '{name}' is available"
            )
        try:
            verdict = plugins.data_is_valid(plugin, archive.get("data"))
        except PluginError as exc:
            verdict = {"valid": False, "error": str(exc)}
        if not verdict["valid"]:
            raise BadRequest(
                f"Invalid archiver data: {verdict.get('error') or 'Unspecified error'}"
            )
        if "transform" in archive:
            error = compile_error(archive["transform"])
            if error:
                raise BadRequest(f"Invalid transform at /archives/{index}/transform: {error}")


def _validate_contexts(contexts: dict | None, participants: int) -> None:
    if contexts is None:
        return
    lists = contexts["contexts"]
    if len(lists) != participants:
        raise BadRequest(
            f"Invalid contexts: expected {participants} list(s), one per participant, "
            f"got {len(lists)}"
        )
    for p, entries in enumerate(lists):
        for i, entry in enumerate(entries):
            plugin = plugins.registry().contexts.get(entry["context"])
            if plugin is None:
                raise BadRequest(f"Invalid contexts: no context '{entry['context']}' is available")
            verdict = plugins.data_is_valid(plugin, entry.get("data"))
            if not verdict["valid"]:
                raise BadRequest(
                    f"Invalid context data at /contexts/contexts/{p}/{i}: {verdict.get('error')}"
                )


def _check_lead_bind(bind: str | None) -> None:
    if bind is None:
        return
    try:
        ipaddress.ip_address(bind)
        addresses = {bind}
    except ValueError:
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(bind, None)}
        except socket.gaierror:
            raise BadRequest(f"Lead bind '{bind}' does not resolve") from None
    if not any(is_local_address(a) for a in addresses):
        raise BadRequest(f"Lead bind '{bind}' is not an address on this host")


# ---------------------------------------------------------------------------- tool choice


def pick_tool(surveys: list[tuple[str, list[dict]]], wanted: list[str] | None) -> str | None:
    """The tool every participant can run: first of ``wanted`` if given, else the lowest
    summed position in the participants' preference-ordered offers (spec/api.md §3.3)."""
    scores: dict[str, int] = {}
    counts: dict[str, int] = {}
    order: list[str] = []
    for _, survey in surveys:
        for position, entry in enumerate(survey):
            name = entry["tool"]["name"]
            if name not in order:
                order.append(name)
            if entry["can-run"].get("can-run"):
                scores[name] = scores.get(name, 0) + position
                counts[name] = counts.get(name, 0) + 1
    candidates = [n for n in order if counts.get(n) == len(surveys)]
    if wanted:
        for name in wanted:
            if name in candidates:
                return name
        return None
    if not candidates:
        return None
    return min(candidates, key=lambda n: (scores[n], order.index(n)))


def no_tool_report(surveys: list[tuple[str, list[dict]]]) -> str:
    lines = ["None of the participants could run this test:", ""]
    for host, survey in surveys:
        offered = [e["tool"]["name"] for e in survey if e["can-run"].get("can-run")]
        declined = [e for e in survey if not e["can-run"].get("can-run")]
        lines += [f"{host}:", ""]
        lines.append("  Offered" if offered else "  Offered nothing.")
        lines += [f"    {name}" for name in offered]
        if declined:
            lines.append("  Declined")
            for entry in declined:
                lines.append(f"    {entry['tool']['name']}")
                lines += [f"      - {r}" for r in entry["can-run"].get("reasons", [])]
        else:
            lines.append("  Declined nothing.")
        lines.append("")
    return "\n".join(lines).rstrip()


def choose_tool(
    task: dict, participants: list[str], me: str, remote_survey: RemoteSurvey
) -> tuple[str, list[tuple[str, list[dict]]]]:
    test_obj = task["test"]
    surveys = []
    for index, host in enumerate(participants):
        if index == 0 or host == me:
            surveys.append((host, catalog.tool_survey(test_obj)))
        else:
            surveys.append((host, remote_survey(host, test_obj, task.get("lead-bind"))))
    wanted = task.get("tools")
    if "tool" in task and not wanted and task["tool"]:
        wanted = [task["tool"]]
    tool = pick_tool(surveys, wanted)
    if tool is None:
        raise Unprocessable("Unable to complete request: " + no_tool_report(surveys))
    return tool, surveys


# ---------------------------------------------------------------------------- creation


def _participant_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(48))


def validate(task: Any, now: dt.datetime) -> tuple[dict, dict]:
    """Check a submitted task; returns (task, resolved schedule) or raises BadRequest."""
    error = task_error(task)
    if error:
        raise BadRequest(f"Invalid task specification: {error}")
    test_type = task["test"]["type"]
    if test_type not in plugins.registry().tests:
        raise BadRequest(f"Invalid test specification: no test '{test_type}' is available")
    verdict = catalog.spec_is_valid(test_type, task["test"]["spec"])
    if not verdict["valid"]:
        raise BadRequest(
            f"Invalid test specification: {verdict.get('error') or 'Unspecified error'}"
        )
    schedule = resolve_schedule(task, now)
    _validate_archives(task.get("archives", []))
    _check_lead_bind(task.get("lead-bind"))
    return task, schedule


def create(
    db: Database,
    body: Any,
    hints: dict,
    me: str,
    limits: LimitChecker | None,
    remote_survey: RemoteSurvey,
    distribute: Callable[[dict], None],
) -> NewTask:
    """Create a task with this node as lead; returns its UUID once it is enabled.

    ``remote_survey(host, test, bind)`` asks another participant which tools it offers;
    ``distribute(row)`` hands a multi-participant task to the other participants
    (``tasks.mesh`` provides both)."""
    now = utcnow()
    task, schedule = validate(body, now)
    diags = "No limits were applied"
    priority = task.get("priority")
    if limits is not None:
        try:
            verdict = limits.process(task, hints, rewrite=True, prioritize=False)
        except LimitConfigError as exc:
            raise Unprocessable(f"Unable to complete request: {exc}") from None
        if not verdict.passed:
            raise Forbidden("Task forbidden by limits:\n" + verdict.diags)
        diags = verdict.diags
        if verdict.rewritten:
            try:
                task, schedule = validate(verdict.task, now)
            except BadRequest as exc:
                raise BadRequest(f"Rewritten task is invalid: {exc.message}") from None
    test_type = task["test"]["type"]
    parts = catalog.participants(test_type, task["test"]["spec"])["participants"]
    if not parts:
        raise BadRequest("The test named no participants")
    participants = [p if p is not None else me for p in parts]
    if len(set(participants)) != len(participants):
        raise BadRequest("All participants must be on separate systems: " + ", ".join(participants))
    _validate_contexts(task.get("contexts"), len(participants))
    tool_name, _ = choose_tool(task, participants, me, remote_survey)
    multi = len(participants) > 1
    first = schedule["start"] or now  # the scheduler places it at the first free moment
    if schedule["repeat_cron"] and not schedule["repeat"]:
        # A cron-only task runs on its cron times, the first one included.
        first = timing.cron_after(schedule["repeat_cron"], first - dt.timedelta(seconds=1))
    try:
        row = store.new_row(
            task_uuid=uuid.uuid4(),
            task=task,
            tool=tool_name,
            participants=participants,
            participant=0,
            participant_key=task.get("_key") or (_participant_key() if multi else None),
            enabled=not multi,
            hints=hints,
            diags=diags,
            schedule=schedule,
            priority=priority,
            next_ideal=first,
            lead_bind=task.get("lead-bind"),
        )
    except PluginError as exc:
        raise BadRequest(str(exc)) from None
    store.insert(db, row)
    if multi:
        distribute(row)
    return NewTask(uuid=row["uuid"], participants=participants)


# ---------------------------------------------------------------------------- reading
