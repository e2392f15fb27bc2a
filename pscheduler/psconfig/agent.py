"""One agent cycle: make the tasks this host schedules on their leads match the templates.

The agent speaks to leads only through the REST API (our nodes or the original's).  Its tasks
carry ``reference.psconfig`` = {created-by: {agent, user-agent}, checksum, task, template} and a
``_key`` only the agent knows; a task without our marker is never touched.  The checksum covers
the lead and the task body without ``schedule.until``, so "identical" survives renewals: an
identical task is left alone until less than half its lifetime remains, then a new one is
posted and the old one deleted.  A lead that cannot be reached loses nothing: its tasks are
neither posted nor deleted until it answers again.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from pscheduler.config import Config
from pscheduler.db import Database
from pscheduler.peers import client
from pscheduler.psconfig import expand, sources, status
from pscheduler.toolkit.iso8601 import format_timestamp, parse_duration, parse_timestamp

log = logging.getLogger(__name__)

USER_AGENT = "pscheduler-psconfig"


@dataclass
class Settings:
    agent_id: str
    addresses: set[str]
    key: str
    interval: dt.timedelta = dt.timedelta(hours=1)
    ttl: dt.timedelta = dt.timedelta(days=1)
    extra: dict = field(default_factory=dict)
    requesting: dict[str, dict] = field(default_factory=dict)


def settings(config: Config) -> Settings:
    """From ``psconfig-agent.json`` in the config dir (all optional): ``interval``,
    ``task-ttl`` (ISO 8601), ``addresses`` this host answers to, ``agent-id``, and
    ``requesting-agent`` (name -> pSConfig address object: what ``requesting-agent`` address
    classes see of this host; default its host name as the one address)."""
    try:
        data = json.loads((Path(config.config_dir) / "psconfig-agent.json").read_text())
    except (OSError, ValueError):
        data = {}
    mine = {config.hostname, config.listen_host, config.node_address}
    mine |= set(data.get("addresses") or [])
    return Settings(
        agent_id=str(data.get("agent-id") or config.hostname),
        addresses={a.lower() for a in mine if a},
        key=_key(config.state_dir),
        interval=parse_duration(data.get("interval", "PT1H")),
        ttl=parse_duration(data.get("task-ttl", "P1D")),
        extra=data,
        requesting=_requesting(data.get("requesting-agent"), config.hostname),
    )


def _requesting(configured: object, hostname: str) -> dict[str, dict]:
    if isinstance(configured, dict) and configured:
        return {
            str(name): addr
            for name, addr in configured.items()
            if isinstance(addr, dict) and isinstance(addr.get("address"), str)
        }
    return {hostname: {"address": hostname}} if hostname else {}


def _key(state_dir: str) -> str:
    """The secret the agent's tasks carry as ``_key``: only it may delete them."""
    path = Path(state_dir) / "psconfig-agent.key"
    try:
        return path.read_text().strip()
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def checksum(lead: str, body: dict) -> str:
    stable = copy.deepcopy(body)
    stable.get("schedule", {}).pop("until", None)
    stable.get("reference", {}).pop("psconfig", None)
    text = json.dumps({"lead": lead.lower(), "body": stable}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def desired(
    loaded: list[sources.Loaded], mine: set[str], requesting: dict[str, dict] | None = None
) -> tuple[dict[str, dict], list[str]]:
    """checksum -> expanded item, for every task this host schedules in every template."""
    out: dict[str, dict] = {}
    errors: list[str] = []
    for source in loaded:
        if source.template is None:
            continue
        items, errs = expand.expand(source.template, mine, requesting)
        errors += [f"{source.source}: {e}" for e in errs]
        for item in items:
            if not source.configure_archives:
                item["body"].pop("archives", None)
            item["template"] = source.source
            out[checksum(item["lead"], item["body"])] = item
    return out, errors


def _marker_filter(agent_id: str) -> dict:
    return {
        "reference": {"psconfig": {"created-by": {"agent": agent_id}}},
        "detail": {"enabled": True, "participant": 0},
    }


def existing(lead: str, agent_id: str) -> list[dict]:
    """Enabled tasks our agent made on this lead (PeerError when it cannot be asked)."""
    response = client.request(
        "GET",
        lead,
        "/tasks",
        params={"expanded": "1", "detail": "1", "json": json.dumps(_marker_filter(agent_id))},
    )
    tasks = response.json()
    if not isinstance(tasks, list):
        raise client.PeerError(lead, "did not answer with a task list")
    return [t for t in tasks if isinstance(t, dict)]


def _until(task: dict) -> dt.datetime | None:
    text = (task.get("schedule") or {}).get("until")
    try:
        return parse_timestamp(text) if text else None
    except ValueError:
        return None


def post(item: dict, cs: str, s: Settings, now: dt.datetime) -> str:
    body = copy.deepcopy(item["body"])
    body.setdefault("schedule", {})["until"] = format_timestamp(now + s.ttl)
    body["reference"] = {
        **(body.get("reference") or {}),
        "psconfig": {
            "created-by": {"agent": s.agent_id, "user-agent": USER_AGENT},
            "checksum": cs,
            "task": item["task"],
            "addresses": item["addresses"],
            "template": item["template"],
        },
    }
    body["_key"] = s.key
    return client.post_lead_task(item["lead"], body, item.get("lead-bind-address"))


def delete(lead: str, task: dict, s: Settings) -> None:
    uuid = str(task.get("href", "")).rstrip("/").rsplit("/", 1)[-1]
    client.request("DELETE", lead, f"/tasks/{uuid}", params={"key": s.key}, ok=(200, 404))


def cycle(db: Database, config: Config, s: Settings) -> dict:
    """One pass; returns (and stores) the report shown in /status and ``psconfig stats``."""
    started = time.monotonic()
    now = dt.datetime.now(dt.timezone.utc)
    previous = status.read(db) or {}
    loaded = sources.load_all(config.config_dir, config.state_dir)
    want, errors = desired(loaded, s.addresses, s.requesting)
    counts = {"desired": len(want), "created": 0, "kept": 0, "deleted": 0, "renewed": 0}
    task_errors: list[dict] = []
    leads = {item["lead"] for item in want.values()} | set(previous.get("leads") or [])
    unreachable: set[str] = set()
    have: set[str] = set()
    for lead in sorted(leads):
        try:
            tasks = existing(lead, s.agent_id)
        except client.PeerError as exc:
            unreachable.add(lead)
            errors.append(str(exc))
            continue
        for task in tasks:
            cs = ((task.get("reference") or {}).get("psconfig") or {}).get("checksum")
            item = want.get(cs)
            until = _until(task)
            renew = until is not None and until - now < s.ttl / 2
            try:
                if item is not None and item["lead"] == lead and cs not in have and not renew:
                    have.add(cs)
                    counts["kept"] += 1
                    continue
                if item is not None and renew and cs not in have:
                    post(item, cs, s, now)
                    have.add(cs)
                    counts["renewed"] += 1
                delete(lead, task, s)
                counts["deleted"] += 1
            except client.PeerError as exc:
                task_errors.append({"task": task.get("href"), "error": str(exc)})
    for cs, item in want.items():
        if cs in have or item["lead"] in unreachable:
            continue
        try:
            post(item, cs, s, now)
            counts["created"] += 1
        except client.PeerError as exc:
            task_errors.append(
                {"task": item["task"], "addresses": item["addresses"], "error": str(exc)}
            )
    state = {
        "agent": s.agent_id,
        "addresses": sorted(s.addresses),
        "last-cycle": format_timestamp(now),
        "cycle-seconds": round(time.monotonic() - started, 3),
        "next-cycle": format_timestamp(now + s.interval),
        "templates": [
            {
                "source": src.source,
                "ok": src.template is not None,
                "stale": src.stale,
                "error": src.error,
                "warnings": src.errors,
            }
            for src in loaded
        ],
        "tasks": counts,
        "leads": sorted({item["lead"] for item in want.values()} | unreachable),
        "errors": errors,
        "task-errors": task_errors,
    }
    status.write(db, state)
    log.info("pSConfig cycle: %s", counts)
    return state
