"""``pscheduler metrics``: a host's health counters as JSON or Prometheus text.

Computed on the client from ``/stat/...`` (pause state, archiving and HTTP-queue backlogs,
runs per state) plus ``/tasks`` and the next hour of ``/schedule``, for the node-exporter
textfile collector or any script.
"""

from __future__ import annotations

import argparse
import datetime as dt

from pscheduler.cli.client import Client, ClientError, api_url, local_host, with_query
from pscheduler.cli.common import EXIT_OK, add_common, dump_json, iso, make_client, now
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp
from pscheduler.toolkit.vocabulary import COUNTED_STATES


def register(subparsers) -> None:
    p = subparsers.add_parser("metrics", help="health counters (JSON or Prometheus)")
    p.add_argument("--format", default="json", choices=("json", "prometheus"))
    add_common(p)
    p.set_defaults(func=command, timeout=5.0)


def _count(client: Client, host: str, path: str) -> int | None:
    try:
        return int(client.get_text(api_url(host, path)).strip())
    except (ClientError, ValueError):
        return None


def gather(client: Client, host: str) -> dict:
    """Every metric, None where the host did not answer."""
    metrics: dict = {}
    try:
        pause = client.get_json(api_url(host, "stat/control/pause"))
    except ClientError:
        pause = {}
    remaining = pause.get("remaining")
    try:
        remaining_s = parse_duration(remaining).total_seconds() if remaining else None
    except ValueError:
        remaining_s = None
    metrics["paused"] = {
        "is_paused": bool(pause.get("is_paused")),
        "infinite": bool(pause.get("infinite")),
        "remaining_seconds": remaining_s,
    }
    metrics["archiving"] = {
        "backlog": _count(client, host, "stat/archiving/backlog"),
        "upcoming": _count(client, host, "stat/archiving/upcoming"),
    }
    metrics["http_queue"] = {
        "backlog": _count(client, host, "stat/http-queue/backlog"),
        "length": _count(client, host, "stat/http-queue/length"),
    }
    metrics["runs"] = {
        state: _count(client, host, f"stat/runs/{state}") for state in COUNTED_STATES
    }
    try:
        tasks = client.get_json(with_query(api_url(host, "tasks"), expanded=True, detail=True))
    except ClientError:
        tasks = None
    if isinstance(tasks, list):
        enabled = [t for t in tasks if (t.get("detail") or {}).get("enabled", True)]
        by_test: dict[str, int] = {}
        for t in enabled:
            name = (t.get("test") or {}).get("type", "?")
            by_test[name] = by_test.get(name, 0) + 1
        metrics["tasks"] = {"total": len(tasks), "enabled": len(enabled), "by_test": by_test}
    start = now()
    try:
        upcoming = client.get_json(
            with_query(
                api_url(host, "schedule"), start=iso(start), end=iso(start + dt.timedelta(hours=1))
            )
        )
    except ClientError:
        upcoming = None
    if isinstance(upcoming, list):
        busy = 0.0
        for run in upcoming:
            if ((run.get("test") or {}).get("scheduling-class")) == "exclusive":
                try:
                    lo = max(parse_timestamp(run["start-time"]), start)
                    hi = min(parse_timestamp(run["end-time"]), start + dt.timedelta(hours=1))
                    busy += max(0.0, (hi - lo).total_seconds())
                except (KeyError, TypeError, ValueError):
                    pass
        metrics["schedule_next_hour"] = {
            "runs": len(upcoming),
            "exclusive_busy_percent": round(min(100.0, busy / 36.0), 2),
        }
    return metrics


def prometheus(metrics: dict) -> str:
    lines = []

    def gauge(name: str, value, labels: str = "", help_text: str = "") -> None:
        if value is None:
            return
        if help_text and not any(ln.startswith(f"# HELP {name} ") for ln in lines):
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} gauge")
        lines.append(f"{name}{labels} {int(value) if isinstance(value, bool) else value}")

    p = "perfsonar_pscheduler_"
    gauge(p + "paused", metrics["paused"]["is_paused"], help_text="1 when the host is paused")
    gauge(
        p + "pause_remaining_seconds",
        metrics["paused"]["remaining_seconds"],
        help_text="seconds left in a timed pause",
    )
    for key, value in metrics["archiving"].items():
        gauge(p + "archiving", value, f'{{state="{key}"}}', "archivings not yet done")
    for key, value in metrics["http_queue"].items():
        gauge(p + "http_queue", value, f'{{state="{key}"}}', "outgoing HTTP queue")
    for key, value in metrics["runs"].items():
        gauge(p + "runs", value, f'{{state="{key}"}}', "runs in each state")
    if "tasks" in metrics:
        gauge(p + "tasks", metrics["tasks"]["total"], help_text="tasks known to the host")
        gauge(p + "tasks_enabled", metrics["tasks"]["enabled"], help_text="enabled tasks")
    if "schedule_next_hour" in metrics:
        gauge(
            p + "runs_next_hour",
            metrics["schedule_next_hour"]["runs"],
            help_text="runs on the schedule in the next hour",
        )
        gauge(
            p + "exclusive_busy_percent",
            metrics["schedule_next_hour"]["exclusive_busy_percent"],
            help_text="share of the next hour taken by exclusive runs",
        )
    return "\n".join(lines)


def command(args: argparse.Namespace) -> int:
    client = make_client(args)
    host = args.host or local_host()
    client.ping(host, timeout=args.timeout)
    metrics = gather(client, host)
    print(dump_json(metrics) if args.format == "json" else prometheus(metrics))
    return EXIT_OK
