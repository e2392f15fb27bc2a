"""Pictures of a timeline: PNG (Pillow), SVG (text), and the original's gnuplot data and script.

The original renders ``/schedule?format=png|svg`` by running gnuplot on a temporary data file,
which breaks on current Flask (spec/api.md §2.5). This module draws the same information
without any external program, so the API route and ``pscheduler plot-schedule`` share one
picture. It knows nothing of HTTP, the database or the CLI: callers hand it ``PlotRun``s.

The picture has one lane per kind of run: the four scheduling classes, runs that did not
start and runs that were preempted. The gnuplot data keep the original's levels (1-5), where
a preempted run counts under its scheduling class, as the original's did.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

LANES = [
    ("Exclusive", (200, 60, 60)),
    ("Normal", (230, 150, 40)),
    ("Background", (60, 140, 210)),
    ("Background multi-result", (120, 90, 200)),
    ("Non-starter", (150, 150, 150)),
    ("Preempted", (230, 210, 60)),
]

#: The original's gnuplot levels (its CLASS_LEVELS; ``nonstart`` is a state, not a class).
CLASS_LEVELS = {
    "exclusive": 1,
    "normal": 2,
    "background": 3,
    "background-multi": 4,
    "nonstart": 5,
}

_LEFT, _RIGHT, _TOP, _LANE_H, _BOTTOM = 190, 20, 30, 40, 50
_TICKS = 6
MIN_WIDTH = 400


@dataclass(frozen=True)
class PlotRun:
    """What the picture needs of one run. ``end`` before ``start`` is drawn as a sliver."""

    start: dt.datetime
    end: dt.datetime
    state: str
    scheduling_class: str | None = None


def level(run: PlotRun) -> int:
    """The original's gnuplot level: non-starters 5, otherwise by class (unknown: normal)."""
    if run.state == "nonstart":
        return CLASS_LEVELS["nonstart"]
    return CLASS_LEVELS.get(run.scheduling_class or "normal", CLASS_LEVELS["normal"])


def lane(run: PlotRun) -> int:
    """The 0-based lane of the picture: the level, with preempted runs apart."""
    if run.state == "preempted":
        return 5
    return level(run) - 1


def resolve_window(
    runs: list[PlotRun], start: dt.datetime | None, end: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    """Fill a missing bound from the runs (or now), so an unbounded query still has a picture."""
    if start is None:
        start = min((r.start for r in runs), default=end or dt.datetime.now(dt.timezone.utc))
    if end is None:
        end = max((r.end for r in runs), default=start + dt.timedelta(hours=1))
    if end <= start:
        end = start + dt.timedelta(seconds=1)
    return start, end


def image_size(width: int = 1200) -> tuple[int, int]:
    """The pixel size of a picture asked for ``width`` wide."""
    return max(MIN_WIDTH, width), _TOP + _LANE_H * len(LANES) + _BOTTOM


class _Geometry:
    """Where things go: shared by the PNG and the SVG so both show the same picture."""

    def __init__(self, start: dt.datetime, end: dt.datetime, width: int) -> None:
        self.start, self.end = start, end
        self.width, self.height = image_size(width)
        self.span = max(1.0, (end - start).total_seconds())
        self.plot_w = self.width - _LEFT - _RIGHT
        self.bottom = _TOP + _LANE_H * len(LANES)

    def x_of(self, t: dt.datetime) -> int:
        frac = (t - self.start).total_seconds() / self.span
        return _LEFT + int(max(0.0, min(1.0, frac)) * self.plot_w)

    def title(self) -> str:
        tz = self.start.tzinfo
        return (
            f"pScheduler schedule {self.start:%Y-%m-%d %H:%M} - "
            f"{self.end.astimezone(tz):%Y-%m-%d %H:%M}"
        )

    def ticks(self) -> list[tuple[int, str]]:
        tz = self.start.tzinfo
        out = []
        for i in range(_TICKS + 1):
            t = self.start + dt.timedelta(seconds=self.span * i / _TICKS)
            out.append((self.x_of(t), f"{t.astimezone(tz):%H:%M:%S}"))
        return out

    def box(self, run: PlotRun) -> tuple[int, int, int, int, int]:
        """Lane and the box ``x0, y0, x1, y1`` of a run (at least 2 px wide)."""
        n = lane(run)
        y = _TOP + n * _LANE_H
        x0 = self.x_of(run.start)
        x1 = max(x0 + 2, self.x_of(max(run.start, run.end)))
        return n, x0, y + 6, x1, y + _LANE_H - 7


def png(runs: list[PlotRun], start: dt.datetime, end: dt.datetime, width: int = 1200) -> bytes:
    """The picture as PNG bytes; labels are in the time zone of ``start``."""
    from PIL import Image, ImageDraw  # late: only PNG output needs Pillow, and it is slow to load

    g = _Geometry(start, end, width)
    img = Image.new("RGB", (g.width, g.height), "white")
    d = ImageDraw.Draw(img)
    d.text((_LEFT, 8), g.title(), fill="black")
    for i, (name, _colour) in enumerate(LANES):
        y = _TOP + i * _LANE_H
        d.rectangle([_LEFT, y, _LEFT + g.plot_w, y + _LANE_H - 1], outline=(220, 220, 220))
        d.text((8, y + _LANE_H // 2 - 6), name, fill="black")
    for x, label in g.ticks():
        d.line([x, _TOP, x, g.bottom], fill=(235, 235, 235))
        d.text((x - 20, g.bottom + 8), label, fill="black")
    for run in runs:
        n, x0, y0, x1, y1 = g.box(run)
        d.rectangle([x0, y0, x1, y1], fill=LANES[n][1])
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _rgb(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def svg(runs: list[PlotRun], start: dt.datetime, end: dt.datetime, width: int = 1200) -> str:
    """The picture as SVG text: lanes are ``rect.lane``, each run one ``rect.run`` with a title."""
    g = _Geometry(start, end, width)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{g.width}" height="{g.height}" '
        f'viewBox="0 0 {g.width} {g.height}" font-family="sans-serif" font-size="12">',
        f'<rect class="background" x="0" y="0" width="{g.width}" height="{g.height}" '
        'fill="white"/>',
        f'<text x="{_LEFT}" y="20">{escape(g.title())}</text>',
    ]
    for i, (name, _colour) in enumerate(LANES):
        y = _TOP + i * _LANE_H
        out.append(
            f'<rect class="lane" x="{_LEFT}" y="{y}" width="{g.plot_w}" height="{_LANE_H - 1}" '
            'fill="none" stroke="#dcdcdc"/>'
        )
        out.append(f'<text x="8" y="{y + _LANE_H // 2 + 4}">{escape(name)}</text>')
    for x, label in g.ticks():
        out.append(f'<line x1="{x}" y1="{_TOP}" x2="{x}" y2="{g.bottom}" stroke="#ebebeb"/>')
        out.append(f'<text x="{x - 20}" y="{g.bottom + 20}">{escape(label)}</text>')
    for run in runs:
        n, x0, y0, x1, y1 = g.box(run)
        tip = f"{LANES[n][0]}, {run.state}: {run.start.isoformat()} - {run.end.isoformat()}"
        out.append(
            f'<rect class="run" x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" '
            f'fill="{_rgb(LANES[n][1])}"><title>{escape(tip)}</title></rect>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _utc(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat()


def data_lines(runs: list[PlotRun]) -> str:
    """The original's gnuplot data: ``<level> <start> <end>`` per run, longest runs first."""
    ordered = sorted(runs, key=lambda r: r.end - r.start, reverse=True)
    return "".join(f"{level(r)} {_utc(r.start)} {_utc(r.end)}\n" for r in ordered)


def gnuplot_script(
    runs: list[PlotRun],
    start: dt.datetime | None,
    end: dt.datetime | None,
    title: str = "pScheduler Schedule",
    terminal: str = "svg size 800,1200 dynamic",
) -> str:
    """A gnuplot script drawing the original's chart; the data ride along as a datablock.

    The original's script named a temporary data file it deleted right after; embedding the
    data keeps the script usable on its own: ``gnuplot script.gp > schedule.svg``.
    """
    names = ["\\nExclusive", "\\nNormal", "Background\\nSingle-Result", "Background\\nMulti-Result"]
    names.append("Non\\nStarting")
    x2tics = ", ".join(f'"{name}" {i}' for i, name in enumerate(names, start=1))
    lo = f'"{_utc(start)}"' if start is not None else ""
    hi = f'"{_utc(end)}"' if end is not None else ""
    title = title.replace("\\", "\\\\").replace('"', '\\"')
    return (
        "reset\n"
        f"set terminal {terminal}\n"
        "$runs << EOD\n"
        f"{data_lines(runs)}"
        "EOD\n"
        'set timefmt "%Y-%m-%dT%H:%M:%S"\n'
        "unset xtics\n"
        f"set x2range [0.5:{len(names)}.5]\n"
        f"set x2tics out scale 0 ( {x2tics} )\n"
        "set ydata time\n"
        "set ytics out nomirror\n"
        'set format y "%Y-%m-%d\\n%H:%M:%S"\n'
        f"set yrange [{lo}:{hi}] reverse\n"
        f'set title "{title} / {len(runs)} Runs"\n'
        "set key off\n"
        "set grid front noxtics ytics mytics linetype 0\n"
        "set boxwidth 0.9\n"
        'set style fill solid border lc rgb "#00e000"\n'
        "plot $runs using 1:2:3:2:3 with candlesticks linewidth 1 "
        'linecolor rgb "#00e000" axes x2y1\n'
    )
