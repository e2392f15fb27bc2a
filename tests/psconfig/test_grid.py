"""The mesh grid: metrics and thresholds as plain functions, then the JSON endpoint over a
real two-node mesh (plus an address without a node, which must show as unreachable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pscheduler.psconfig import grid
from tests.helpers import require_program, wait_for


def test_metrics_per_test_type():
    rtt = {"succeeded": True, "min": "PT0.0005S", "mean": "PT0.002S", "loss": 0.25}
    assert grid.metrics("rtt", rtt) == {"min": 0.5, "mean": 2.0, "loss": 0.25}
    latency = {"histogram-latency": {"1.0": 1, "3.0": 3}, "packets-sent": 5, "packets-lost": 1}
    assert grid.metrics("latency", latency) == {"min": 1.0, "mean": 2.5, "loss": 0.2}
    tput = {"summary": {"summary": {"throughput-bits": 9.4e9}}}
    assert grid.metrics("throughput", tput) == {"throughput": 9.4e9}
    assert grid.metrics("trace", {"paths": [[{}, {}, {}]]}) == {"hops": 3}


def test_thresholds_from_meta_and_request():
    template = {"_meta": {"mesh-grid": {"thresholds": {"throughput": {"warning": 5e8}}}}}
    limits = grid.thresholds(template, {"throughput": {"critical": 1e8}})
    assert limits["throughput"] == {"warning": 5e8, "critical": 1e8}
    assert grid.classify("throughput", {"throughput": 9e8}, limits) == "ok"
    assert grid.classify("throughput", {"throughput": 2e8}, limits) == "warning"
    assert grid.classify("throughput", {"throughput": 5e7}, limits) == "critical"
    assert grid.classify("rtt", {"loss": 0.0}, limits) == "ok"
    assert grid.classify("rtt", {"loss": 0.05}, limits) == "warning"
    assert grid.classify("rtt", {"loss": 0.5}, limits) == "critical"


@pytest.fixture
def pair(make_node):
    return make_node(host="127.0.0.2"), make_node(host="127.0.0.3")


def mesh_template(a, b) -> dict:
    return {
        "addresses": {
            "a": {"address": a.host, "pscheduler-address": a.address},
            "b": {"address": b.host, "pscheduler-address": b.address},
            # no node listens there: A schedules a->c itself, c->a would be led by c
            "c": {"address": "127.0.0.4", "pscheduler-address": "127.0.0.4:9", "no-agent": True},
        },
        "groups": {
            "all": {"type": "mesh", "addresses": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}
        },
        "tests": {
            "rtt": {
                "type": "rtt",
                "spec": {
                    "source": "{% address[0] %}",
                    "dest": "{% address[1] %}",
                    "count": 2,
                    "interval": "PT0.2S",
                },
            }
        },
        "schedules": {"minute": {"repeat": "PT1M"}},
        "tasks": {"mesh-rtt": {"group": "all", "test": "rtt", "schedule": "minute"}},
    }


def test_grid_shows_every_pair_with_its_latest_run(pair):
    require_program("ping")
    a, b = pair
    template = mesh_template(a, b)
    for node in (a, b):
        Path(node.state_dir, "psconfig.d").mkdir()
        Path(node.state_dir, "psconfig.d", "mesh.json").write_text(json.dumps(template))

    def filled():
        r = a.get("mesh/grid", params={"group": "all"})
        assert r.status_code == 200, r.text
        cells = r.json()["grids"][0]["cells"]
        done = {c["status"] for c in cells} <= {"ok", "warning", "critical", "unreachable"}
        return done and r.json()

    body = wait_for(filled, timeout=150, interval=1.0, what="every pair has a run")
    assert a.get("mesh").json() == [
        {
            "template": 0,
            "source": str(Path(a.state_dir, "psconfig.d", "mesh.json")),
            "groups": ["all"],
        }
    ]
    (only,) = body["grids"]
    assert only["test"] == "rtt" and only["task"] == "mesh-rtt"
    assert only["sources"] == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    cells = {(c["source"], c["destination"]): c for c in only["cells"]}
    assert len(cells) == 6
    for pair_ in [
        ("127.0.0.2", "127.0.0.3"),
        ("127.0.0.3", "127.0.0.2"),
        ("127.0.0.2", "127.0.0.4"),
    ]:
        cell = cells[pair_]
        assert cell["status"] == "ok", cell
        assert cell["values"]["loss"] == 0 and cell["values"]["mean"] > 0
        run = a.session.get(cell["run"], timeout=30).json()
        assert run["state"] == "finished" and cell["run"].startswith(cell["task"])
    # c has no node: the pairs it would lead cannot be reached
    assert cells[("127.0.0.4", "127.0.0.2")]["status"] == "unreachable"
    assert cells[("127.0.0.4", "127.0.0.3")]["status"] == "unreachable"
    # the same grid from B, and thresholds from the request
    strict = {"rtt": {"metric": "mean", "warning": 0.0, "critical": 10000}}
    from_b = b.get("mesh/grid", params={"thresholds": json.dumps(strict)}).json()
    statuses = {(c["source"], c["destination"]): c["status"] for c in from_b["grids"][0]["cells"]}
    assert statuses[("127.0.0.2", "127.0.0.3")] == "warning"
    # bad input: clear 4xx
    assert a.get("mesh/grid", params={"template": "7"}).status_code == 404
    assert a.get("mesh/grid", params={"group": "nope"}).status_code == 404
    assert a.get("mesh/grid", params={"template": "x"}).status_code == 400
    assert a.get("mesh/grid", params={"thresholds": "[1]"}).status_code == 400

    # The same grid in headless Chromium: every pair drawn, coloured by status, runs linked.
    browser_view(a, cells)


def browser_view(node, cells: dict) -> None:
    import shutil

    from playwright.sync_api import sync_playwright

    from tests.live.test_dashboard import ARTIFACTS, CHROMIUM_ARGS

    path = shutil.which("chromium") or require_program("chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                ignore_https_errors=True, viewport={"width": 1200, "height": 700}
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(node.url("dashboard/") + "#/mesh/0/all")
            page.wait_for_selector("table.grid td.cell[data-status]", timeout=20000)
            drawn = page.locator("table.grid td.cell[data-status]")
            assert drawn.count() == len(cells) == 6
            for i in range(drawn.count()):
                td = drawn.nth(i)
                key = (td.get_attribute("data-source"), td.get_attribute("data-destination"))
                assert td.get_attribute("data-status") == cells[key]["status"]
            ok = page.locator('td.cell[data-status="ok"] a')
            assert ok.count() == sum(c["status"] == "ok" for c in cells.values()) == 4
            assert "ms" in ok.first.inner_text()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard-mesh.png"), full_page=True)
            ok.first.click()  # a run on this node opens the run page
            page.wait_for_function("location.hash.startsWith('#/run/')", timeout=10000)
            assert not errors, errors
        finally:
            browser.close()
