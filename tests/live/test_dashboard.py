"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright.

Screenshots go to artifacts/ (not committed) so a person can look at each page.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.helpers import require_program, wait_for
from tests.live.live_helpers import iso, post_task, soon

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    path = shutil.which("chromium") or require_program("chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_node):
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1200, "height": 800})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.errors = errors
    yield p
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def rtt_task(live_node):
    """Three quick pings of loopback, two seconds apart, started before the tests need them."""
    require_program("ping")
    return post_task(
        live_node,
        "rtt",
        {"dest": "127.0.0.1", "count": 3, "interval": "PT0.2S"},
        {"repeat": "PT2S", "max-runs": 3, "slip": "PT1S"},
    )


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def _runs(node, task: str) -> list[str]:
    r = node.get(f"tasks/{task}/runs")
    return [href.rsplit("/", 1)[1] for href in r.json()] if r.status_code == 200 else []


def _finished(node, task: str) -> list[str]:
    rows = node.get("schedule", params={"task": task}).json()
    return [row["href"].rsplit("/", 1)[1] for row in rows if row["state"] == "finished"]


def dashboard(node, route: str) -> str:
    return node.url("dashboard/") + "#/" + route


def test_timeline_shows_runs_and_recolours_them_live(page, live_node, rtt_task):
    task = post_task(live_node, "idleex", {"duration": "PT3S"}, {"start": iso(soon(6))})
    run = wait_for(lambda: _runs(live_node, task), timeout=15, what="the run to be placed")[0]
    page.goto(dashboard(live_node, "timeline"))
    page.wait_for_selector("#live.on", timeout=10000)
    bar = page.locator(f'rect[data-run="{run}"]')
    bar.wait_for(timeout=10000)
    # Not started yet: pending, or on deck (the runner claims runs 5 s before their start).
    assert bar.get_attribute("data-state") in ("pending", "on-deck")
    pending_fill = bar.get_attribute("fill")
    page.evaluate("window.__notReloaded = true")
    _shot(page, "timeline")
    page.wait_for_selector(f'rect[data-run="{run}"][data-state="finished"]', timeout=20000)
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    finished_fill = page.locator(f'rect[data-run="{run}"]').get_attribute("fill")
    assert finished_fill != pending_fill
    assert (
        page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--st-finished').trim()"
        )
        == finished_fill
    )
    assert "exclusive" in page.locator("#timeline").text_content()
    _shot(page, "timeline-finished")


def test_task_page_shows_spec_cli_runs_and_plots_results(page, live_node, rtt_task):
    wait_for(
        lambda: len(_finished(live_node, rtt_task)) >= 2,
        timeout=30,
        interval=0.3,
        what="two finished rtt runs",
    )
    page.goto(dashboard(live_node, f"task/{rtt_task}"))
    # Attached, not visible: equal means (ping on loopback) draw a flat line, whose empty
    # bounding box Playwright counts as hidden.
    page.wait_for_selector('#plot polyline[data-series="mean"]', state="attached", timeout=15000)
    for series in ("min", "mean", "max"):
        assert page.locator(f'#plot polyline[data-series="{series}"]').count() == 1
    assert int(page.locator("#plot").get_attribute("data-points")) >= 2
    assert page.locator("#cli").inner_text().startswith("pscheduler task rtt")
    assert "127.0.0.1" in page.locator("#cli").inner_text()
    assert '"dest": "127.0.0.1"' in page.locator("#spec").inner_text()
    assert page.locator("#runs tr[data-run]").count() >= 2
    _shot(page, "task")


def test_run_page_shows_state_times_and_formatted_result(page, live_node, rtt_task):
    run = wait_for(lambda: _finished(live_node, rtt_task), timeout=30, what="a finished run")[0]
    page.goto(dashboard(live_node, f"run/{rtt_task}/{run}"))
    page.wait_for_selector('#run-state [data-state="finished"]', timeout=10000)
    # The formatted result is fetched after the page is drawn and written into the frame then.
    frame = page.frame_locator("#result-html")
    frame.locator("body", has_text="127.0.0.1").wait_for(timeout=10000)
    facts = page.locator("#run-facts").inner_text()
    assert "rtt (tool" in facts and "Start" in facts and "End" in facts
    _shot(page, "run")


def test_tasks_list_filters_by_test(page, live_node, rtt_task):
    post_task(live_node, "noop", {"data": 1})
    page.goto(dashboard(live_node, "tasks"))
    page.wait_for_selector(f'#tasks tr[data-task="{rtt_task}"]', timeout=10000)
    assert page.locator("#tasks tr[data-task]").count() >= 2
    page.select_option('select[name="test"]', "rtt")
    rows = page.locator("#tasks tr[data-task]")
    wait_for(
        lambda: (
            rows.count() >= 1
            and all(
                rows.nth(i).locator("td").first.inner_text() == "rtt" for i in range(rows.count())
            )
        ),
        timeout=5,
        what="only rtt rows",
    )
    _shot(page, "tasks")


def test_health_page_shows_daemons_clock_counts_and_busy_timeline(page, live_node):
    task = post_task(live_node, "idleex", {"duration": "PT30S"}, {"start": iso(soon(120))})
    wait_for(lambda: _runs(live_node, task), timeout=15, what="the exclusive run to be placed")
    page.goto(dashboard(live_node, "health"))
    page.wait_for_selector("#services tr[data-service]", timeout=10000)
    names = page.locator("#services tr[data-service]").evaluate_all(
        "rows => rows.map(r => r.dataset.service)"
    )
    assert {"scheduler", "runner", "archiver", "ticker"} <= set(names)
    assert page.locator("#clock").inner_text().startswith("Synchronized")
    busy = page.locator('b.busy[data-window="next hour"]').inner_text()
    assert busy.endswith("%") and float(busy[:-1]) > 0
    assert page.locator("#counts tr").count() >= 8
    _shot(page, "health")


def test_cancel_from_the_task_page(page, live_node):
    task = post_task(
        live_node,
        "idle",
        {"duration": "PT1S"},
        {"start": iso(soon(300)), "repeat": "PT1M"},
        _key="s3cret",
    )
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(dashboard(live_node, f"task/{task}"))
    page.fill("#task-key", "s3cret")
    page.click("#cancel")
    page.wait_for_selector("#message .good", timeout=10000)
    assert live_node.get(f"tasks/{task}", params={"detail": 1}).json()["detail"]["enabled"] is False
