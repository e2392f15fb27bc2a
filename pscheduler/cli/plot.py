"""``pscheduler plot-schedule``: a PNG of a host's timeline, drawn locally with Pillow.

The server-side plot of the original (``/schedule?format=png``) is broken on current Flask
(spec/api.md quirk 16), so the client draws from the JSON schedule: one lane per class
(Exclusive, Normal, Background, Background multi-result, Non-starter, Preempted).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
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
from pscheduler.toolkit.iso8601 import parse_timestamp

LANES = [
    ("Exclusive", (200, 60, 60)),
    ("Normal", (230, 150, 40)),
    ("Background", (60, 140, 210)),
    ("Background multi-result", (120, 90, 200)),
    ("Non-starter", (150, 150, 150)),
    ("Preempted", (230, 210, 60)),
]
CLASS_LANE = {"exclusive": 0, "normal": 1, "background": 2, "background-multi": 3}


def register(subparsers) -> None:
    p = subparsers.add_parser("plot-schedule", help="PNG plot of a host's timeline")
    add_range_arguments(p)
    add_filter_arguments(p)
    p.add_argument("--output", "-o", metavar="FILE", help="write the PNG here (default stdout)")
    p.add_argument("--width", type=int, default=1200, help="image width in pixels")
    add_common(p)
    p.set_defaults(func=command)


def lane_of(run: dict) -> int:
    if run.get("state") == "nonstart":
        return 4
    if run.get("state") == "preempted":
        return 5
    cls = (run.get("test") or {}).get("scheduling-class") or "normal"
    return CLASS_LANE.get(cls, 1)


def draw(runs: list[dict], start: dt.datetime, end: dt.datetime, width: int = 1200) -> bytes:
    """The PNG bytes of the plot."""
    from PIL import Image, ImageDraw

    left, right, top, lane_h = 190, 20, 30, 40
    height = top + lane_h * len(LANES) + 50
    img = Image.new("RGB", (max(400, width), height), "white")
    d = ImageDraw.Draw(img)
    span = max(1.0, (end - start).total_seconds())
    plot_w = img.width - left - right

    def x_of(t: dt.datetime) -> int:
        frac = (t - start).total_seconds() / span
        return left + int(max(0.0, min(1.0, frac)) * plot_w)

    d.text(
        (left, 8),
        f"pScheduler schedule {start.astimezone():%Y-%m-%d %H:%M} - "
        f"{end.astimezone():%Y-%m-%d %H:%M}",
        fill="black",
    )
    for i, (name, _colour) in enumerate(LANES):
        y = top + i * lane_h
        d.rectangle([left, y, left + plot_w, y + lane_h - 1], outline=(220, 220, 220))
        d.text((8, y + lane_h // 2 - 6), name, fill="black")
    for tick in range(0, 7):
        t = start + dt.timedelta(seconds=span * tick / 6)
        x = x_of(t)
        d.line([x, top, x, top + lane_h * len(LANES)], fill=(235, 235, 235))
        d.text((x - 20, top + lane_h * len(LANES) + 8), f"{t.astimezone():%H:%M:%S}", fill="black")
    for run in runs:
        try:
            s = parse_timestamp(run["start-time"])
            e = parse_timestamp(run.get("end-time") or run["start-time"])
        except (KeyError, TypeError, ValueError):
            continue
        lane = lane_of(run)
        y = top + lane * lane_h
        x0, x1 = x_of(s), x_of(e)
        d.rectangle([x0, y + 6, max(x0 + 2, x1), y + lane_h - 7], fill=LANES[lane][1])
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


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
