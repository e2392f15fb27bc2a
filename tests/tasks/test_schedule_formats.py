"""GET /schedule?format=png|svg|data|script: the pictures the original drew with gnuplot."""

from __future__ import annotations

import datetime as dt
import io
import random
import subprocess
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from pscheduler.toolkit import timeline_plot
from pscheduler.toolkit.iso8601 import parse_timestamp
from tests.helpers import require_program, wait_for
from tests.tasks.util import idle, iso, now, post_task, runs

SVG = "{http://www.w3.org/2000/svg}"

# (test, start offset in seconds, duration): the second idleex collides with the first and,
# having no slip, becomes a non-starter.
LAYOUT = [
    ("idleex", 0, "PT10S"),
    ("idleex", 0, "PT10S"),
    ("idlenorm", 60, "PT20S"),
    ("idle", 120, "PT30S"),
    ("idlebgm", 180, "PT5S"),
]
EXPECTED_LEVELS = [1, 5, 2, 3, 4]
# The original's gnuplot levels (spec/api.md §2.5); non-starters have their own.
CLASS_LEVELS = {"exclusive": 1, "normal": 2, "background": 3, "background-multi": 4}


@pytest.fixture(scope="module")
def planned(node):
    """Five runs, one per gnuplot level, hours ahead (other tests' repeating tasks may share
    the window, so checks over the window compare formats, and per-task checks are exact)."""
    later = dt.timedelta(hours=1, minutes=random.randrange(0, 1200))
    base = (now() + later).replace(microsecond=0)
    urls, found = [], []
    for test, offset, duration in LAYOUT:  # one by one, so the first idleex gets the slot
        start = iso(base + dt.timedelta(seconds=offset))
        urls.append(post_task(node, idle(duration, test=test, start=start)))
        got = wait_for(lambda: runs(node, urls[-1]), timeout=20, what=f"a run of {urls[-1]}")
        found.append(got[0])
    window = {
        "start": iso(base - dt.timedelta(seconds=1)),
        "end": iso(base + dt.timedelta(minutes=4)),
    }
    return urls, found, window


def _schedule(node, **params):
    return node.get("schedule", params=params)


def _data(text: str) -> list[tuple[int, dt.datetime, dt.datetime]]:
    out = []
    for line in text.splitlines():
        level, start, end = line.split(" ")
        out.append((int(level), parse_timestamp(start), parse_timestamp(end)))
    return out


def _task(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _level(entry: dict) -> int:
    return 5 if entry["state"] == "nonstart" else CLASS_LEVELS[entry["scheduling-class"]]


def test_data_lines_give_each_run_its_level_and_times(node, planned):
    urls, found, window = planned
    assert found[1]["state"] == "nonstart"
    for url, run, level in zip(urls, found, EXPECTED_LEVELS, strict=True):
        r = _schedule(node, format="data", task=_task(url))
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
        times = parse_timestamp(run["start-time"]), parse_timestamp(run["end-time"])
        assert _data(r.text) == [(level, *times)]
    # Over a window the data say what the JSON says, run for run.
    entries = _schedule(node, **window).json()
    r = _schedule(node, format="data", **window)
    expected = [
        (_level(e), parse_timestamp(e["start-time"]), parse_timestamp(e["end-time"]))
        for e in entries
    ]
    assert len(expected) >= len(LAYOUT) and sorted(_data(r.text)) == sorted(expected)


def test_png_is_an_image_of_the_runs(node, planned):
    urls, _, window = planned
    r = _schedule(node, format="png", **window)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.format == "PNG" and img.size == timeline_plot.image_size()
    colours = {c for _, c in img.convert("RGB").getcolors(1 << 16)}
    for name, colour in timeline_plot.LANES[:5]:  # every class lane and the non-starters
        assert colour in colours, name
    # The non-starter alone: only its lane has a box.
    alone = _schedule(node, format="png", task=_task(urls[1]))
    colours = {c for _, c in Image.open(io.BytesIO(alone.content)).convert("RGB").getcolors()}
    assert [name for name, c in timeline_plot.LANES if c in colours] == ["Non-starter"]


def _boxes(svg: bytes) -> list[ET.Element]:
    return [e for e in ET.fromstring(svg).iter(f"{SVG}rect") if e.get("class") == "run"]


def test_svg_has_one_box_per_run(node, planned):
    urls, _, window = planned
    r = _schedule(node, format="svg", **window)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/svg+xml")
    assert len(_boxes(r.content)) == len(_schedule(node, **window).json()) >= len(LAYOUT)
    boxes = _boxes(_schedule(node, format="svg", task=_task(urls[0])).content)
    assert len(boxes) == 1 and "Exclusive" in boxes[0].find(f"{SVG}title").text


def test_script_plots_the_data(node, planned):
    _, _, window = planned
    data = _schedule(node, format="data", **window).text
    r = _schedule(node, format="script", **window)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert data and data in r.text and "plot $runs" in r.text
    gnuplot = require_program("gnuplot")
    out = subprocess.run([gnuplot], input=r.text, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert ET.fromstring(out.stdout.encode()).tag == f"{SVG}svg"


def test_bad_format_and_times_are_refused(node):
    r = _schedule(node, format="gif")
    assert r.status_code == 400 and r.text == "Invalid format 'gif'\n"
    r = _schedule(node, format="png", start="yesterday")
    assert r.status_code == 400 and r.text == "Invalid start or end time\n"


def test_unbounded_window_takes_the_runs_extent():
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    run = timeline_plot.PlotRun(t0, t0 + dt.timedelta(minutes=5), "pending", "normal")
    assert timeline_plot.resolve_window([run], None, None) == (run.start, run.end)
    lo, hi = timeline_plot.resolve_window([], t0, None)
    assert lo == t0 and hi > t0
    assert timeline_plot.level(timeline_plot.PlotRun(t0, t0, "nonstart", "exclusive")) == 5
