"""``pscheduler watch``: follow every run of a task until it has no more (fixes #1494).

The original quits when ``runs/next`` answers 404 because the next run of a repeating task
is not on the schedule yet.  Here the task itself says when to stop: it is cancelled, it is
single-shot, ``max-runs`` or ``until`` is exhausted, or ``--runs`` were shown.  New runs are
found with ``runs?start=`` after the last one seen.

Waiting is driven by the node's event stream when it has one (a new run is looked for when
``run-placed`` arrives, a run's result is fetched when ``result-merged`` or a final state
arrives, even before its scheduled end); against servers without ``/events`` the same waits
poll.  See ``events.Waiter``.
"""

from __future__ import annotations

import argparse
import time

from pscheduler.cli.client import Client, ServerError, host_of_url, with_query
from pscheduler.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_common,
    err,
    fail,
    make_client,
    now,
    stdout_is_tty,
    timestamp_or_none,
    to_local,
    wait_until,
)
from pscheduler.cli.events import Waiter, run_over, run_placed
from pscheduler.cli.runs import FORMATS, render, wait_for_result, write_output
from pscheduler.toolkit.iso8601 import parse_timestamp

FIRST_RUN_WAIT = 90.0  # seconds for a new task's first run to appear on the schedule


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        default="text",
        choices=sorted(FORMATS),
        metavar="FORMAT",
        help="text (default), html, json or none",
    )
    parser.add_argument("--output", metavar="PATH", help="write each result here (%%n: run number)")
    parser.add_argument("--full", action="store_true", help="add diagnostics and archivings")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but results")
    parser.add_argument(
        "--verbose", action="store_true", help="narrate progress even when not on a terminal"
    )


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "watch", help="follow the runs of a task", description="Follow every run of a task."
    )
    p.add_argument("url", metavar="TASK-URL")
    p.add_argument("--first", action="store_true", help="start with the task's first run")
    p.add_argument("--runs", type=int, default=0, metavar="N", help="stop after N runs")
    add_output_options(p)
    add_common(p, host=False)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    client = make_client(args)
    return watch(client, args.url, args, first=args.first)


def narrating(args: argparse.Namespace) -> bool:
    return not args.quiet and (stdout_is_tty() or getattr(args, "verbose", False))


def task_over(task: dict, shown: int) -> str | None:
    """Why no further runs will come, or None."""
    detail = task.get("detail") or {}
    schedule = task.get("schedule") or {}
    if detail.get("enabled") is False:
        return "Task is no longer enabled."
    if not schedule.get("repeat") and not schedule.get("repeat-cron"):
        return "No further runs scheduled." if shown else None
    max_runs = schedule.get("max-runs")
    if max_runs and (detail.get("runs") or 0) >= max_runs:
        return "No further runs scheduled."  # called only when no unseen run is left
    until = schedule.get("until")
    if until:
        try:
            if parse_timestamp(until) <= now():
                return "No further runs scheduled."
        except ValueError:
            pass
    return None


def watch(client: Client, task_url: str, args: argparse.Namespace, first: bool = False) -> int:
    """Show runs as they complete; 0 if all succeeded, 1 if any did not."""
    task = client.get_json(with_query(task_url, detail=True))
    detail = task.get("detail") or {}
    if detail.get("multi-result"):
        print(
            "This task produces results asynchronously and cannot be watched.\n"
            f"Use: pscheduler result {task_url}"
        )
        return EXIT_OK
    runs_href = detail.get("runs-href") or task_url.rstrip("/") + "/runs"
    fmt = args.format
    if FORMATS.get(fmt, "x") is None:
        fmt = None
    with Waiter.for_task(task_url, debug=client.debug) as waiter:
        return _follow_runs(client, task_url, runs_href, fmt, args, first, waiter)


def _follow_runs(
    client: Client,
    task_url: str,
    runs_href: str,
    fmt: str | None,
    args: argparse.Namespace,
    first: bool,
    waiter: Waiter,
) -> int:
    talk = narrating(args)
    countdown = talk and stdout_is_tty()
    seen: set[str] = set()
    shown = 0
    failures = 0
    cursor: str | None = None  # start-time of the last run shown
    max_shown = getattr(args, "runs", 0) or 0

    while True:
        run_url = next_run(
            client, runs_href, seen, cursor, first and not seen, task_url, shown, waiter
        )
        if run_url is None:
            task = client.get_json(with_query(task_url, detail=True))
            reason = task_over(task, shown)
            if reason is None and shown == 0:
                err(f"{client_host(task_url)} never scheduled a run for the task.")
                return EXIT_FAILED
            if talk:
                print(f"\n{reason or 'No further runs scheduled.'}")
            break
        seen.add(run_url)
        run = client.get_json(run_url)
        cursor = run.get("start-time") or cursor
        if talk:
            print("\nNext scheduled run:" if shown else "\nFirst run:")
            print(run_url)
        if run.get("state") != "nonstart":
            if talk:
                print(f"Starts {to_local(run.get('start-time'))}")
                print(f"Ends   {to_local(run.get('end-time'))}")
            start = timestamp_or_none(run.get("start-time"))
            end = timestamp_or_none(run.get("end-time"))
            pause = waiter.until(run_over(run_url.rstrip("/").rsplit("/", 1)[-1]))
            if start:
                wait_until(start, "Starts in", countdown, pause=pause)
            if end:
                wait_until(end, "Waiting for result, ends in", countdown, pause=pause)
            if talk:
                print("Waiting for result...")
            run = wait_for_result(client, run_url, deadline_s=120.0)
        shown += 1
        text, result = render(
            client, run, fmt or "none", diags=args.full, archivings=args.full, with_header=False
        )
        if talk and text:
            print()
        write_output(text, args.output, shown)
        if not result.succeeded:
            failures += 1
            if fmt in (None, "json", "html", "application/json", "text/html") and result.reason:
                err(result.reason)
        if max_shown and shown >= max_shown:
            break
    return EXIT_FAILED if failures else EXIT_OK


def client_host(url: str) -> str:
    return host_of_url(url)


def next_run(
    client: Client,
    runs_href: str,
    seen: set[str],
    cursor: str | None,
    from_first: bool,
    task_url: str,
    shown: int,
    waiter: Waiter,
) -> str | None:
    """The URL of the next run not yet shown, waiting for the scheduler to place it.

    Gives up (None) when the task says no more runs will come, or when a new task's first
    run does not appear within FIRST_RUN_WAIT seconds.
    """
    deadline = time.monotonic() + FIRST_RUN_WAIT
    delay = 0.25
    checked_task_at = time.monotonic()
    while True:
        url = with_query(runs_href, start=cursor) if cursor else runs_href
        try:
            urls = client.get_json(url)
        except ServerError as exc:
            if exc.status == 404:
                raise fail("Task not found; it may have been canceled.", EXIT_FAILED) from None
            raise
        candidates = [u for u in urls if u not in seen] if isinstance(urls, list) else []
        if not from_first and not cursor and candidates:
            candidates = _current_or_future(client, candidates, seen)
        if candidates:
            return candidates[0]
        if shown == 0 and time.monotonic() > deadline:
            return None
        if time.monotonic() - checked_task_at > 2.0 or shown:
            checked_task_at = time.monotonic()
            task = client.get_json(with_query(task_url, detail=True))
            if task_over(task, shown):
                return None
        waiter.nap(delay, run_placed)
        delay = min(delay * 1.5, 5.0)


def _current_or_future(client: Client, urls: list[str], seen: set[str]) -> list[str]:
    """Drop runs that ended before watching began (watch without --first), remembering
    them as seen so they are not fetched again."""
    keep = []
    for url in urls:
        try:
            run = client.get_json(url)
        except ServerError:
            continue
        end = timestamp_or_none(run.get("end-time"))
        if end is None or end >= now() or run.get("state") in ("pending", "on-deck", "running"):
            keep.append(url)
        else:
            seen.add(url)
    return keep
