"""API conventions of spec/api.md §0, with the original's quirks fixed."""

from __future__ import annotations

import json

import pytest
import requests


def test_api_level_is_6(node):
    r = node.get("api")
    assert r.status_code == 200
    assert r.json() == 6
    assert r.text == "6\n"
    assert r.headers["Content-Type"] == "application/json"


def test_banner_is_a_json_string(node):
    r = node.get("")
    assert r.status_code == 200
    assert r.json().startswith("This is the pScheduler API server on 127.0.0.1")


def test_double_slashes_are_tolerated(node):
    r = node.session.get(node.base + "//api", timeout=10)
    assert r.status_code == 200 and r.json() == 6
    r = node.session.get(node.base + "//tools", timeout=10)
    assert r.status_code == 200 and isinstance(r.json(), list)


@pytest.mark.parametrize(
    ("value", "status", "body"),
    [
        ("abc", 400, "Invalid API value 'abc': Invalid API value abc: Invalid integer.\n"),
        ("7", 501, "No API above 6 is supported\n"),
    ],
)
def test_bad_api_parameter(node, value, status, body):
    r = node.get("tests", params={"api": value})
    assert r.status_code == status
    assert r.text == body
    assert r.headers["Content-Type"].startswith("text/plain")


def test_api_check_applies_to_unknown_urls(node):
    assert node.get("no-such-thing", params={"api": "x"}).status_code == 400


def test_api_levels_up_to_6_accepted(node):
    assert node.get("api", params={"api": "6"}).status_code == 200
    assert node.get("api", params={"api": "-1"}).status_code == 200


def test_unknown_route_is_404(node):
    r = node.get("no-such-thing")
    assert r.status_code == 404
    assert r.text == "Resource not found.\n"


def test_trailing_slash_is_404(node):
    assert node.get("tests/").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "api"), ("POST", "tests"), ("DELETE", "clock")]
)
def test_wrong_method_is_405_with_allow(node, method, path):
    r = node.session.request(method, node.url(path), timeout=10)
    assert r.status_code == 405
    assert r.text == f"{method} not allowed on this resource\n"
    assert "GET" in r.headers["Allow"]


def test_pretty_output_is_sorted_and_indented(node):
    r = node.get("tests/idle", params={"pretty": ""})
    assert r.text.startswith("{\n    ")
    keys = list(json.loads(r.text).keys())
    assert keys == sorted(keys)


def test_hrefs_echo_the_request(node):
    r = node.get("tests")
    assert all(u.startswith(node.base + "/tests/") for u in r.json())


def test_plain_http_is_refused_when_tls_is_on(node):
    with pytest.raises(requests.RequestException):
        requests.get(f"http://{node.address}/pscheduler/api", timeout=5)


def test_hostname_schedule_horizon_and_clock(node):
    import socket

    assert node.get("hostname").json() == socket.gethostname()  # the host's, as the original
    assert node.get("schedule-horizon").json() == "P1D"
    clock = node.get("clock").json()
    assert isinstance(clock["synchronized"], bool)
    assert "time" in clock and "source" in clock


def test_mtu_safe(node):
    assert node.get("mtu-safe").status_code == 400
    assert node.get("mtu-safe").text == "Missing destination\n"
    r = node.get("mtu-safe", params={"dest": "127.0.0.1"})
    assert r.json() == {"safe": True, "message": "N/A (Local)"}


def test_status_reports_every_daemon(node):
    status = node.get("status").json()
    assert set(status["services"]) >= {"scheduler", "runner", "archiver", "ticker"}
    for service in status["services"].values():
        assert service["overdue"] is None
        assert service["uptime"].startswith("P")
    assert status["limits"]["ok"] is True
    assert set(status["runs"]) == {"last-finished", "last-scheduled"}


def test_pause_state_and_stat_counters(node):
    assert node.get("stat/control/pause").json() == {"is_paused": False}
    r = node.get("stat/runs/pending")
    assert r.status_code == 200 and r.text.strip().isdigit()
    assert (
        node.get("stat/runs/pending", params={"start": "-PT1H", "end": "+PT1H"}).status_code == 200
    )
    assert node.get("stat/runs/pending", params={"start": "yesterday"}).status_code == 400
    assert node.get("stat/runs/bogus").status_code == 404
