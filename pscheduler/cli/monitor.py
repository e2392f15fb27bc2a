"""``pscheduler monitor``: a live, top-like view of a host's past, present and future runs.

Polls ``/monitor?window=N`` (the server tags runs with ppf -1/0/+1) and draws with ``rich``.
Not on a terminal, or with ``--once``, it prints one snapshot and exits; ``--count N`` stops
after N refreshes, which keeps it usable from scripts and tests.  Keys: q/Q/Esc quit, space
refreshes now; Ctrl-C quits cleanly.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import select
import shutil
import sys
import time

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pscheduler.cli.client import ClientError, api_url, local_host, with_query
from pscheduler.cli.common import EXIT_OK, add_common, human_seconds, make_client, now
from pscheduler.cli.schedule import add_filter_arguments, cli_text, filter_runs
from pscheduler.toolkit.iso8601 import parse_timestamp

STATE_STYLES = {
    "running": "green",
    "cleanup": "green",
    "overdue": "white on red",
    "missed": "white on red",
    "failed": "white on red",
    "preempted": "black on yellow",
    "nonstart": "black on yellow",
    "canceled": "dim",
}


def register(subparsers) -> None:
    p = subparsers.add_parser("monitor", help="live view of a host's schedule")
    p.add_argument("--refresh", type=float, default=3.0, metavar="SECS", help="default 3")
    p.add_argument(
        "--past",
        type=int,
        default=50,
        metavar="PCT",
        help="share of the remaining rows for past runs (default 50)",
    )
    p.add_argument("--absolute", action="store_true", help="absolute times instead of deltas")
    p.add_argument("--no-color", action="store_true")
    p.add_argument("--hide-canceled", action="store_true", help="leave out canceled runs")
    p.add_argument("--once", action="store_true", help="print one snapshot and exit")
    p.add_argument("--count", type=int, default=0, metavar="N", help="exit after N refreshes")
    add_filter_arguments(p)
    add_common(p)
    p.set_defaults(func=command)


def when(run: dict, absolute: bool) -> str:
    try:
        start = parse_timestamp(run["start-time"])
    except (KeyError, TypeError, ValueError):
        return "?"
    if absolute:
        return start.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    delta = (start - now()).total_seconds()
    return ("+" if delta >= 0 else "-") + human_seconds(abs(delta))


def arrange(runs: list[dict], rows: int, past_pct: int) -> list[dict]:
    """Present runs first, then up to past_pct% of the rest for past runs, then future."""
    past = [r for r in runs if r.get("ppf") == -1]
    present = [r for r in runs if r.get("ppf") == 0]
    future = [r for r in runs if r.get("ppf") == 1]
    present = present[:rows]
    left = rows - len(present)
    n_past = min(len(past), left * max(0, min(100, past_pct)) // 100)
    n_future = min(len(future), left - n_past)
    n_past = min(len(past), left - n_future)
    return past[len(past) - n_past :] + present + future[:n_future]


def render(
    host: str,
    hostname: str,
    runs: list[dict] | None,
    error: str | None,
    args: argparse.Namespace,
    rows: int,
) -> Group:
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    top = Table.grid(expand=True)
    top.add_column(justify="left")
    top.add_column(justify="center")
    top.add_column(justify="right")
    top.add_row(stamp, Text("pScheduler Monitor", style="bold"), hostname or host)
    if error:
        return Group(top, Text("─" * 20), Text(error, style="bold red", justify="center"))
    table = Table(expand=True, box=None, show_header=True, header_style="bold")
    table.add_column("When", no_wrap=True)
    table.add_column("Pri", justify="right", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Test")
    shown = arrange(runs or [], rows, args.past)
    if not shown:
        return Group(top, table, Text("Schedule is empty.", justify="center"))
    for index, run in enumerate(shown):
        style = None if args.no_color else STATE_STYLES.get(run.get("state"))
        nxt = shown[index + 1] if index + 1 < len(shown) else None
        if nxt is not None and nxt.get("ppf") != run.get("ppf"):
            style = f"{style or ''} underline".strip()
        table.add_row(
            when(run, args.absolute),
            str(run.get("priority") if run.get("priority") is not None else ""),
            run.get("state-display") or run.get("state") or "?",
            cli_text(run),
            style=style,
        )
    return Group(top, table)


def fetch(client, host: str, rows: int, args) -> tuple[list[dict] | None, str | None]:
    try:
        runs = client.get_json(with_query(api_url(host, "monitor"), window=max(1, rows)))
    except ClientError as exc:
        return None, f"Unable to read schedule from server.\n{exc}"
    if not isinstance(runs, list):
        return None, "Unable to read schedule from server."
    runs = filter_runs(runs, args.filter_test, args.invert)
    if args.hide_canceled:
        runs = [r for r in runs if r.get("state") != "canceled"]
    return runs, None


def command(args: argparse.Namespace) -> int:
    client = make_client(args)
    host = args.host or local_host()
    client.ping(host, timeout=min(10, args.timeout))
    try:
        hostname = client.get_json(api_url(host, "hostname"))
    except ClientError:
        hostname = host
    tty = sys.stdout.isatty()
    console = Console(no_color=args.no_color, highlight=False)
    if args.once or not tty:
        rows = max(5, shutil.get_terminal_size((100, 40)).lines - 4)
        runs, error = fetch(client, host, rows, args)
        console.print(render(host, hostname, runs, error, args, rows))
        return EXIT_OK
    refreshes = 0
    with _keys() as key_ready, Live(console=console, screen=True, auto_refresh=False) as live:
        try:
            while True:
                rows = max(5, console.size.height - 4)
                runs, error = fetch(client, host, rows, args)
                live.update(render(host, hostname, runs, error, args, rows), refresh=True)
                refreshes += 1
                if args.count and refreshes >= args.count:
                    break
                key = key_ready(args.refresh)
                if key in ("q", "Q", "\x1b"):
                    break
        except KeyboardInterrupt:
            pass
    return EXIT_OK


@contextlib.contextmanager
def _keys():
    """A function that waits up to N seconds for a key press (None on timeout)."""
    fd = sys.stdin.fileno() if sys.stdin.isatty() else None
    if fd is None:
        yield lambda timeout: time.sleep(timeout)
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def wait(timeout: float):
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 1).decode(errors="replace") if ready else None

    try:
        yield wait
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
