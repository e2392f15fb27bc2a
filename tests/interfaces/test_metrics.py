"""/pscheduler/metrics in the Prometheus exposition format, from a real node."""

from __future__ import annotations

import psycopg2
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_for
from tests.interfaces._util import post_task, wait_run_final


def scrape(node) -> dict:
    r = node.get("metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(r.text)}


def _samples(family, name: str | None = None) -> dict:
    return {
        tuple(sorted(s.labels.items())): s.value
        for s in family.samples
        if name is None or s.name == name
    }


def _table_exists(dsn: str, name: str) -> bool:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
        return cur.fetchone()[0]


def test_metrics_parse_and_reflect_runs_heartbeats_and_lateness(make_node):
    n = make_node()
    before = scrape(n)
    assert all(name.startswith("pscheduler_") for name in before)
    states = _samples(before["pscheduler_runs"])
    assert {dict(k)["state"] for k in states} >= {"pending", "running", "finished", "failed"}
    assert sum(states.values()) == 0

    task = post_task(n, "idle", {"duration": "PT1S"})
    failing = post_task(n, "noop", {"fail": 1.0})
    run = wait_run_final(n, task)
    assert run["state"] == "finished"
    assert wait_run_final(n, failing)["state"] == "failed"

    after = scrape(n)
    runs = {dict(k)["state"]: v for k, v in _samples(after["pscheduler_runs"]).items()}
    assert (runs["finished"], runs["failed"]) == (1, 1)
    assert _samples(after["pscheduler_tasks"])[(("enabled", "true"),)] == 2

    ages = {
        dict(k)["daemon"]: v
        for k, v in _samples(after["pscheduler_daemon_heartbeat_age_seconds"]).items()
    }
    assert set(ages) == {"archiver", "runner", "scheduler", "ticker"}
    assert all(0 <= age < 60 for age in ages.values())

    lateness = {
        dict(k)["quantile"]: v
        for k, v in _samples(after["pscheduler_runner_start_lateness_seconds"]).items()
    }
    assert after["pscheduler_runner_start_lateness_window_count"].samples[0].value == 2
    assert set(lateness) == {"0.5", "0.9", "0.99", "1"}
    assert 0 <= lateness["0.5"] <= lateness["1"] < 30
    placement = {
        dict(k)["quantile"]: v
        for k, v in _samples(after["pscheduler_scheduler_placement_latency_seconds"]).items()
    }
    assert 0 <= placement["1"] < 30

    assert after["pscheduler_database_up"].samples[0].value == 1
    assert after["pscheduler_runs_paused"].samples[0].value == 0
    # Backlogs appear exactly when their tables exist (archiving comes with migration 003).
    for table, metric in (
        ("archiving", "pscheduler_archiving_backlog"),
        ("http_queue", "pscheduler_http_queue_backlog"),
    ):
        assert (metric in after) == _table_exists(n.dsn, table), metric


def test_request_latency_histogram_counts_requests_of_every_worker(node):
    def count() -> float:
        family = scrape(node)["pscheduler_api_request_duration_seconds"]
        return sum(
            s.value
            for s in family.samples
            if s.name.endswith("_count") and s.labels["route"] == "/pscheduler/hostname"
        )

    start = count()
    # Fresh connections spread over the gunicorn workers; each writes its own file.
    for _ in range(20):
        assert node.session.get(
            node.url("hostname"), timeout=10, headers={"Connection": "close"}
        ).ok
    # A worker's scrape is up to a second old (metrics.SCRAPE_TTL); then every request counts.
    wait_for(lambda: count() - start >= 20, timeout=5, interval=0.3, what="the 20 requests")
    assert count() - start == 20
    family = scrape(node)["pscheduler_api_request_duration_seconds"]
    buckets = [
        s
        for s in family.samples
        if s.name.endswith("_bucket") and s.labels["route"] == "/pscheduler/hostname"
    ]
    assert buckets and max(s.value for s in buckets if s.labels["le"] == "+Inf") >= 20
