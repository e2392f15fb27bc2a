"""``pscheduler plot-schedule``: a PNG of a host's timeline, drawn locally with Pillow.

The server-side plot of the original (``/schedule?format=png``) is broken on current Flask
(spec/api.md quirk 16), so the client draws from the JSON schedule with the same drawing
code our server uses for it (pscheduler/toolkit/timeline_plot.py), which also works against
original nodes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from pscheduler.cli.client import local_host
from pscheduler.cli.common import EXIT_OK, add_common, fail, make_client
from pscheduler.cli.schedule import (
    add_filter_arguments,
    add_range_arguments,
    fetch_schedule,
    filter_runs,
    time_range,
)
from pscheduler.toolkit import timeline_plot
from pscheduler.toolkit.iso8601 import parse_timestamp


def register(subparsers) -> None:
    p = subparsers.add_parser("plot-schedule", help="PNG plot of a host's timeline")
    add_range_arguments(p)
    add_filter_arguments(p)
    p.add_argument("--output", "-o", metavar="FILE", help="write the PNG here (default stdout)")
    p.add_argument("--width", type=int, default=1200, help="image width in pixels")
    add_common(p)
    p.set_defaults(func=command)


def plot_runs(runs: list[dict]) -> list[timeline_plot.PlotRun]:
    """The schedule's JSON entries as the plotter's runs (entries without times are skipped)."""
    out = []
    for run in runs:
        try:
            start = parse_timestamp(run["start-time"])
            end = parse_timestamp(run.get("end-time") or run["start-time"])
        except (KeyError, TypeError, ValueError):
            continue
        cls = run.get("scheduling-class") or (run.get("test") or {}).get("scheduling-class")
        out.append(timeline_plot.PlotRun(start, end, str(run.get("state")), cls))
    return out


def draw(runs: list[dict], start: dt.datetime, end: dt.datetime, width: int = 1200) -> bytes:
    """The PNG bytes of the plot, labelled in local time."""
    return timeline_plot.png(plot_runs(runs), start.astimezone(), end.astimezone(), width)


def command(args: argparse.Namespace) -> int:
    if not args.output and sys.stdout.isatty():
        raise fail("Refusing to write PNG data to a terminal; redirect or use --output FILE")
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise fail("plot-schedule needs Pillow (pip install pillow)") from None
    client = make_client(args)
    start, end = time_range(args.times)
    runs = filter_runs(
        fetch_schedule(client, args.host or local_host(), start, end),
        args.filter_test,
        args.invert,
    )
    png = draw(runs, start, end, args.width)
    if args.output:
        try:
            with open(args.output, "wb") as f:
                f.write(png)
        except OSError as exc:
            raise fail(f"Unable to write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.buffer.write(png)
        sys.stdout.flush()
    return EXIT_OK
