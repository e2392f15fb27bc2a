"""The mesh grid: for one template group, sources x destinations per task with the latest
result of each pair, classified by thresholds -- what MaDDash shows, read from the leads.

Every cell comes from the lead of its task over the REST API, so the grid on any node shows
the whole mesh.  A lead that is one of ours answers the whole grid's share in one request: its
task listing with ``latest-run`` (each task's latest final run, result included).  A lead that
ignores that parameter (the original pScheduler) is read as before: its task listing, one
``/schedule`` of its last ``RECENT`` minutes (which names every task's latest finished run),
then one fetch per cell of that run; only a task without a finished run that recent has its own
runs listed.  (Per-cell reads took 16 leads x 30 cells of round trips under a loaded 16-node
mesh: the grid outlasted five minutes; one request per lead does not.)  Thresholds come
from the template's ``_meta.mesh-grid.thresholds`` (per test type), overridden by the request:
``{"rtt": {"metric": "loss", "warning": 0.01, "critical": 0.1}}``; throughput is "worse when
lower", every other metric "worse when higher".
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
from typing import Any

from pscheduler.peers import client
from pscheduler.psconfig import expand
from pscheduler.toolkit.iso8601 import format_timestamp, parse_duration

DEFAULT_THRESHOLDS = {
    "rtt": {"metric": "loss", "warning": 0.0001, "critical": 0.1},
    "latency": {"metric": "loss", "warning": 0.0001, "critical": 0.1},
}
FINAL = {"finished", "failed", "missed", "nonstart", "overdue", "canceled", "preempted"}
LOOKBACK = dt.timedelta(hours=2)
RECENT = dt.timedelta(minutes=15)
MAX_RUNS = 4
THREADS = 16
# A lead's whole share of the grid comes in its listing: a busy lead gets longer than the
# usual peer timeout for it.
LISTING_TIMEOUT = 30.0


def thresholds(template: dict, requested: dict | None) -> dict:
    meta = ((template.get("_meta") or {}).get("mesh-grid") or {}).get("thresholds") or {}
    out = {k: dict(v) for k, v in DEFAULT_THRESHOLDS.items()}
    for source in (meta, requested or {}):
        for test, value in source.items():
            if isinstance(value, dict):
                out[test] = {**out.get(test, {}), **value}
    return out


def _seconds(text: Any) -> float | None:
    try:
        return parse_duration(text).total_seconds() if text else None
    except (ValueError, TypeError):
        return None


def metrics(test: str, result: dict) -> dict:
    """The numbers a cell shows: rtt/latency min, mean (ms) and loss; throughput bits/s; trace
    hop count."""
    if test == "rtt":
        mn, mean = _seconds(result.get("min")), _seconds(result.get("mean"))
        return {
            "min": None if mn is None else round(mn * 1000, 3),
            "mean": None if mean is None else round(mean * 1000, 3),
            "loss": result.get("loss"),
        }
    if test == "latency":
        histogram = {float(k): v for k, v in (result.get("histogram-latency") or {}).items()}
        total = sum(histogram.values())
        sent = result.get("packets-sent") or 0
        return {
            "min": min(histogram) if histogram else None,
            "mean": round(sum(k * v for k, v in histogram.items()) / total, 3) if total else None,
            "loss": (result.get("packets-lost") or 0) / sent if sent else None,
        }
    if test == "throughput":
        summary = (result.get("summary") or {}).get("summary") or {}
        return {"throughput": summary.get("throughput-bits")}
    if test == "trace":
        paths = result.get("paths") or []
        return {"hops": len(paths[0]) if paths else None}
    return {}


def classify(test: str, values: dict, limits: dict) -> str:
    rule = limits.get(test) or {}
    metric = rule.get("metric") or {"throughput": "throughput", "trace": "hops"}.get(test)
    value = values.get(metric) if metric else None
    if value is None:
        return "ok"
    lower_is_worse = metric == "throughput"
    for level in ("critical", "warning"):
        limit = rule.get(level)
        if limit is None:
            continue
        if (value < limit) if lower_is_worse else (value > limit):
            return level
    return "ok"


def _summary(test: str, values: dict) -> str:
    if test in ("rtt", "latency"):
        loss = values.get("loss")
        parts = [f"{values.get('min')}/{values.get('mean')} ms"]
        if loss is not None:
            parts.append(f"{loss * 100:.1f}% loss")
        return " ".join(parts)
    if test == "throughput" and values.get("throughput") is not None:
        return f"{values['throughput'] / 1e6:.1f} Mb/s"
    if test == "trace" and values.get("hops") is not None:
        return f"{values['hops']} hops"
    return ""


def _key(task_name: str, addresses: list) -> str:
    return json.dumps([task_name, list(addresses)])


def _lead_tasks(lead: str) -> dict[str, dict]:
    """(task name, addresses) -> enabled agent task on this lead."""
    query = {"reference": {"psconfig": {}}, "detail": {"enabled": True, "participant": 0}}
    params = {"expanded": "1", "detail": "1", "latest-run": "1", "json": json.dumps(query)}
    response = client.request("GET", lead, "/tasks", params=params, timeout=LISTING_TIMEOUT)
    out = {}
    for task in response.json() or []:
        marker = (task.get("reference") or {}).get("psconfig") or {}
        if marker.get("task") and marker.get("addresses"):
            out[_key(marker["task"], marker["addresses"])] = task
    return out


def _latest_run(lead: str, task: dict, now: dt.datetime) -> dict | None:
    path = str(task["href"]).split("/pscheduler/", 1)[1]
    uuids = client.request(
        "GET",
        lead,
        f"/{path}/runs",
        params={"start": format_timestamp(now - LOOKBACK), "end": format_timestamp(now)},
    ).json()
    for href in list(reversed(uuids or []))[:MAX_RUNS]:
        run_path = str(href).split("/pscheduler/", 1)[1]
        run = client.request("GET", lead, f"/{run_path}").json()
        if run.get("state") in FINAL:
            return run
    return None


def _uuid(href: Any) -> str:
    return str(href).rstrip("/").rsplit("/", 1)[-1]


def _recent_runs(lead: str, now: dt.datetime) -> dict[str, str]:
    """task uuid -> path of its latest run in a final state, from the lead's recent schedule."""
    entries = client.request(
        "GET",
        lead,
        "/schedule",
        params={"start": format_timestamp(now - RECENT), "end": format_timestamp(now)},
    ).json()
    latest: dict[str, tuple[str, str]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("state") not in FINAL:
            continue
        task = _uuid((entry.get("task") or {}).get("href"))
        when = str(entry.get("start-time") or "")
        if task not in latest or when > latest[task][0]:
            latest[task] = (when, str(entry.get("href")).split("/pscheduler/", 1)[1])
    return {task: path for task, (_, path) in latest.items()}


def _cell(
    item: dict,
    tasks: dict | None,
    limits: dict,
    now: dt.datetime,
    recent: dict[str, str] | None = None,
) -> dict:
    test = item["body"]["test"]["type"]
    cell: dict[str, Any] = {
        "source": item["addresses"][0],
        "destination": item["addresses"][1],
        "lead": item["lead"],
        "status": "missing",
        "values": {},
        "summary": "",
        "run": None,
        "task": None,
    }
    if tasks is None:
        cell.update(status="unreachable", summary=f"lead {item['lead']} cannot be reached")
        return cell
    task = tasks.get(_key(item["task"], item["addresses"]))
    if task is None:
        cell["summary"] = "no task on its lead"
        return cell
    cell["task"] = task["href"]
    try:
        path = (recent or {}).get(_uuid(task["href"]))
        if "latest-run" in task:  # the lead is one of ours (see the module's docstring)
            run = task["latest-run"]
        elif path is not None:
            run = client.request("GET", item["lead"], f"/{path}").json()
        else:
            run = _latest_run(item["lead"], task, now)
    except client.PeerError as exc:
        cell.update(status="unreachable", summary=str(exc))
        return cell
    if run is None:
        cell.update(status="pending", summary="no finished run yet")
        return cell
    cell["run"] = run.get("href")
    cell["time"] = run.get("start-time")
    result = run.get("result-merged") or run.get("result") or {}
    if run.get("state") != "finished" or not result.get("succeeded", False):
        errors = run.get("errors") or result.get("error") or run.get("state")
        cell.update(status="failed", summary=str(errors)[:200])
        return cell
    values = metrics(test, result)
    cell.update(
        values=values, summary=_summary(test, values), status=classify(test, values, limits)
    )
    return cell


def groups(template: dict) -> list[str]:
    return [name for name, g in (template.get("groups") or {}).items() if g["type"] != "list"]


def build(template: dict, group: str | None = None, requested: dict | None = None) -> dict:
    """The grid of every point-to-point task of ``group`` (all groups when None)."""
    limits = thresholds(template, requested)
    items, errors = expand.expand(template)
    items = [
        i
        for i in items
        if len(i["addresses"]) == 2
        and (group is None or template["tasks"][i["task"]]["group"] == group)
    ]
    leads = sorted({i["lead"] for i in items})
    now = dt.datetime.now(dt.timezone.utc)
    with concurrent.futures.ThreadPoolExecutor(max(1, min(THREADS, len(items)))) as pool:
        listed = dict(zip(leads, pool.map(_guarded_listing, leads), strict=True))
        older = [lead for lead in leads if not _answers_latest(listed[lead])]
        recent = dict.fromkeys(leads, {})
        recent.update(
            zip(older, pool.map(lambda lead: _guarded_recent(lead, now), older), strict=True)
        )
        cells = list(
            pool.map(lambda i: _cell(i, listed[i["lead"]], limits, now, recent[i["lead"]]), items)
        )
    grids: dict[str, dict] = {}
    for item, cell in zip(items, cells, strict=True):
        grid = grids.setdefault(
            item["task"],
            {
                "task": item["task"],
                "test": item["body"]["test"]["type"],
                "group": template["tasks"][item["task"]]["group"],
                "sources": [],
                "destinations": [],
                "cells": [],
            },
        )
        if cell["source"] not in grid["sources"]:
            grid["sources"].append(cell["source"])
        if cell["destination"] not in grid["destinations"]:
            grid["destinations"].append(cell["destination"])
        grid["cells"].append(cell)
    order: dict[str, int] = {}
    for item in items:
        for address in item["addresses"]:
            order.setdefault(address, len(order))
    for g in grids.values():
        g["sources"].sort(key=order.__getitem__)
        g["destinations"].sort(key=order.__getitem__)
    return {
        "group": group,
        "time": format_timestamp(now),
        "thresholds": limits,
        "grids": list(grids.values()),
        "errors": errors,
    }


def _answers_latest(tasks: dict | None) -> bool:
    """Whether the lead's listing carried ``latest-run`` (an unreachable one needs no more)."""
    return tasks is None or all("latest-run" in t for t in tasks.values())


def _guarded_recent(lead: str, now: dt.datetime) -> dict[str, str]:
    try:
        return _recent_runs(lead, now)
    except (client.PeerError, ValueError, IndexError):
        return {}  # each cell then lists its task's runs


def _guarded_listing(lead: str) -> dict | None:
    try:
        return _lead_tasks(lead)
    except (client.PeerError, ValueError):
        return None
