"""The idle tests' variants answer as the original's do (issue 17), and sleepbgm reports
once per ``interval``."""

from __future__ import annotations

import time

import pytest

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from pscheduler.toolkit.program import RunControl
from tests.plugins.plugin_helpers import get_test, get_tool, run_input

TWO_HOSTS = {"schema": 2, "duration": "PT1S", "host": ["a.example", "b.example"]}


def test_only_idle_has_schema_2():
    assert plugins.spec_is_valid(get_test("idle"), TWO_HOSTS) == {"valid": True}
    for name in ("idleex", "idlebgm"):
        verdict = plugins.spec_is_valid(get_test(name), TWO_HOSTS)
        assert verdict == {
            "valid": False,
            "error": "Schema version 2 is not supported (highest is 1).",
        }
    assert get_test("idleex").cli_to_spec(["-H", "a", "-d", "PT1S"])["schema"] == 1
    with pytest.raises(UsageError):  # one host only: a second -H replaces, never lists
        get_test("idleex").cli_to_spec(["-H", "a", "-H", "b", "--host-node"])


def test_idleex_host_node():
    spec = get_test("idleex").cli_to_spec(["-d", "PT1S", "-H", "h", "--host-node", "h:8443"])
    assert spec == {"schema": 1, "duration": "PT1S", "host": "h", "host-node": "h:8443"}
    assert plugins.spec_is_valid(get_test("idleex"), spec) == {"valid": True}
    assert get_test("idleex").participants(spec) == {"participants": ["h:8443"]}
    assert get_test("idleex").cli_to_spec(get_test("idleex").spec_to_cli(spec)) == spec
    idle = {"schema": 1, "duration": "PT1S", "host-node": "h:8443"}
    assert get_test("idle").cli_to_spec(get_test("idle").spec_to_cli(idle)) == idle


@pytest.mark.parametrize(
    "given, expected", [("PT2S", "PT2S"), ("2", "PT2S"), ("0.5", "PT0.5S"), ("PT1M", "PT1M")]
)
def test_idlebgm_interval_is_iso_or_seconds(given, expected):
    spec = get_test("idlebgm").cli_to_spec(["-i", given])
    assert spec == {"schema": 1, "interval": expected}  # no duration needed on the CLI


def test_idlebgm_interval_errors_and_validity():
    test = get_test("idlebgm")
    with pytest.raises(UsageError, match='Invalid value "soon" for interval'):
        test.cli_to_spec(["-i", "soon"])
    with pytest.raises(UsageError):
        get_test("idle").cli_to_spec(["-i", "PT1S"])
    spec = {"schema": 1, "duration": "PT4S", "interval": "PT1S"}
    assert plugins.spec_is_valid(test, spec) == {"valid": True}
    assert plugins.spec_is_valid(get_test("idle"), spec)["valid"] is False
    missing = plugins.spec_is_valid(test, {"interval": "PT1S"})
    assert missing == {"valid": False, "error": "At /: 'duration' is a required property"}


def test_sleepbgm_reports_once_per_interval():
    spec = {"schema": 1, "duration": "PT1.5S", "interval": "PT0.5S"}
    emitted: list[dict] = []
    control = RunControl(deadline=time.monotonic() + 10, emit=emitted.append)
    began = time.monotonic()
    result = get_tool("sleepbgm").run(run_input("idlebgm", spec), control)
    assert result["succeeded"] and result["result"] == {"time-slept": "PT1.5S"}
    assert [r["duration"] for r in emitted] == ["PT0.5S", "PT0.5S", "PT0.5S"]
    assert time.monotonic() - began >= 1.4
