"""``pscheduler schedule``: the runs on a host's timeline, as text or JSON.

Time arguments: none (now to +1 h, or every run with --task), one (an absolute time or a
signed delta, giving the range between it and now) or two (swapped if reversed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import textwrap

from pscheduler.cli.client import Client, api_url, host_of_url, local_host, with_query
from pscheduler.cli.common import (
    EXIT_OK,
    add_common,
    dump_json,
    fail,
    iso,
    make_client,
    now,
    parse_time,
    stdout_is_tty,
    to_local,
)

_TASK_URL = re.compile(r"^https?://([^/]+)/pscheduler/tasks/([0-9a-fA-F-]{36})/?$")


def add_range_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "times",
        nargs="*",
        metavar="DELTA | START END",
        help="signed delta (+PT1H, -PT30M) or times (default: now to +PT1H)",
    )


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--filter-test",
        action="append",
        default=[],
        metavar="TEST",
        help="only these tests (repeatable)",
    )
    p.add_argument("--invert", action="store_true", help="exclude the --filter-test tests")


def register(subparsers) -> None:
    p = subparsers.add_parser("schedule", help="show the runs on a host's timeline")
    add_range_arguments(p)
    add_filter_arguments(p)
    p.add_argument("--task", metavar="TASK-URL", help="only runs of this task (host from its URL)")
    p.add_argument("--format", default="plain", choices=("plain", "text", "json"))
    p.add_argument("--verbose", "-v", action="store_true", help="show why runs did not start")
    add_common(p)
    p.set_defaults(func=command)


def time_range(times: list[str], default_after: str = "+PT1H") -> tuple[dt.datetime, dt.datetime]:
    if len(times) > 2:
        raise fail("Give at most two times: a delta, or a start and an end")
    if not times:
        times = [default_after]
    if len(times) == 1:
        start, end = now(), parse_time(times[0])
    else:
        start, end = parse_time(times[0]), parse_time(times[1])
    return (start, end) if start <= end else (end, start)


def fetch_schedule(
    client: Client,
    host: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    task_uuid: str | None = None,
) -> list[dict]:
    url = with_query(
        api_url(host, "schedule"),
        start=iso(start) if start else None,
        end=iso(end) if end else None,
        task=task_uuid,
    )
    data = client.get_json(url)
    if not isinstance(data, list):
        raise fail(f"Unexpected schedule from {host}")
    return data


def test_type(run: dict) -> str:
    task = run.get("task") or {}
    return ((task.get("test") or {}).get("type")) or (run.get("test") or {}).get("name") or "?"


def filter_runs(runs: list[dict], tests: list[str], invert: bool) -> list[dict]:
    if not tests:
        return runs
    wanted = set(tests)
    return [r for r in runs if (test_type(r) in wanted) != invert]


def cli_text(run: dict) -> str:
    cli = run.get("cli")
    if isinstance(cli, list):
        return " ".join([test_type(run), *[_quote(a) for a in cli]])
    return test_type(run)


def _quote(arg) -> str:
    arg = str(arg)
    return f"'{arg}'" if (not arg or any(c in arg for c in " \"'$\\")) else arg


def command(args: argparse.Namespace) -> int:
    client = make_client(args)
    host = args.host or local_host()
    task_uuid = None
    if args.task:
        match = _TASK_URL.match(args.task)
        if not match:
            raise fail(f"{args.task} is not a task URL")
        task_uuid = match.group(2)
        host = args.host or host_of_url(args.task)
    if args.task and not args.times:
        start = end = None
    else:
        start, end = time_range(args.times)
    runs = filter_runs(
        fetch_schedule(client, host, start, end, task_uuid), args.filter_test, args.invert
    )
    if args.format == "json":
        print(dump_json(runs))
        return EXIT_OK
    if not runs:
        if start and end:
            print(f"Nothing scheduled {iso(start)} to {iso(end)}")
        else:
            print("Nothing scheduled")
        return EXIT_OK
    width = shutil.get_terminal_size((100, 24)).columns if stdout_is_tty() else 0
    blocks = []
    for run in runs:
        lines = [
            f"{to_local(run.get('start-time'))} - {to_local(run.get('end-time'))}"
            f" ({run.get('state-display') or run.get('state')})"
        ]
        cli = cli_text(run)
        tool = (run.get("tool") or {}).get("name") or (run.get("task") or {}).get("tool")
        extra = f" (Run with tool '{tool}' at priority {run.get('priority') or 0})" if tool else ""
        text = cli + extra
        if width:
            lines.extend(textwrap.wrap(text, width=width, subsequent_indent="  "))
        else:
            lines.append(text)
        lines.append(run.get("href", ""))
        if args.verbose and run.get("errors"):
            lines.extend("  " + ln for ln in str(run["errors"]).splitlines())
        blocks.append("\n".join(lines))
    print("\n\n".join(blocks))
    return EXIT_OK
