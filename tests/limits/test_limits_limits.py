"""Each limit type, clones, invert and failures, judged through load() and process()."""

from __future__ import annotations

import json

import pytest

from pscheduler.limits import LimitConfigError, load

from .conftest import LOOPBACK, config, idle_task, one_limit


def judge(
    limit_type: str, data: dict, task: dict, invert: bool = False, hints=LOOPBACK
) -> tuple[bool, str]:
    """(passed, the limit's diagnostic line) for a single-limit file."""
    verdict = load(one_limit(limit_type, data, invert)).process(task, hints)
    line = next(x for x in verdict.diags.splitlines() if "Limit 'l'" in x)
    return verdict.passed, line.split("Limit 'l' ", 1)[1]


def run(task: dict, start: str, duration: str) -> dict:
    return {**task, "run_schedule": {"start": start, "duration": duration}}


def test_pass_fail():
    assert judge("pass-fail", {"pass": True}, idle_task()) == (True, "passed")
    assert judge("pass-fail", {"pass": False}, idle_task()) == (False, "failed: Forced failure")


def test_invert_flips_the_verdict():
    assert judge("pass-fail", {"pass": True}, idle_task(), invert=True) == (
        False,
        "failed: Passed but inverted",
    )
    assert judge("pass-fail", {"pass": False}, idle_task(), invert=True) == (True, "passed")


def test_test_type():
    assert judge("test-type", {"types": ["idle", "rtt"]}, idle_task()) == (True, "passed")
    assert judge("test-type", {"types": ["rtt"]}, idle_task()) == (
        False,
        "failed: Test type not in list",
    )
    assert judge("test-type", {"types": ["rtt"]}, {"schema": 1}) == (
        False,
        "failed: No type in task",
    )


@pytest.mark.parametrize(
    "script, expected",
    [
        ('.test.spec.duration == "PT5S"', (True, "passed")),
        ("false", (False, "failed: Unspecified reason")),
        ('"Too long"', (False, "failed: Too long")),
        ("42", (False, "failed: Script returned unusable data")),
        ('error("boom")', (False, "failed: Failed to process task: boom")),
        (
            [
                'import "pscheduler/iso8601" as iso;',
                "iso::duration_as_seconds(.test.spec.duration) <= 5",
            ],
            (True, "passed"),
        ),
    ],
)
def test_jq_limit(script, expected):
    assert judge("jq", {"script": script}, idle_task()) == expected


def test_jq_args_and_error_line_numbers():
    assert judge(
        "jq", {"script": ".test.type == $want", "args": {"want": "idle"}}, idle_task()
    ) == (True, "passed")
    with pytest.raises(LimitConfigError, match=r"line 3"):
        load(one_limit("jq", {"script": ['import "pscheduler/si" as si;', ".", "| ] bad"]}))


def test_run_daterange():
    data = {"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z"}
    inside = run(idle_task(), "2024-01-15T12:00:00Z", "PT1H")
    across = run(idle_task(), "2024-01-31T23:30:00Z", "PT1H")
    before = run(idle_task(), "2023-12-01T00:00:00Z", "PT1H")
    assert judge("run-daterange", data, inside) == (True, "passed")
    assert judge("run-daterange", data, across) == (False, "failed: Ranges do not match")
    assert judge("run-daterange", {**data, "overlap": True}, across) == (True, "passed")
    assert judge("run-daterange", {**data, "overlap": True}, before)[0] is False
    # a run ending exactly at the end fits ([start, start+duration) inside [start, end))
    assert judge("run-daterange", data, run(idle_task(), "2024-01-31T23:00:00Z", "PT1H"))[0] is True
    # no run_schedule (task submission): time limits pass
    assert judge("run-daterange", data, idle_task()) == (True, "passed")


def test_run_daterange_open_ends_and_validation():
    assert judge(
        "run-daterange",
        {"start": "2024-01-01T00:00:00Z"},
        run(idle_task(), "2030-01-01T00:00:00Z", "PT1M"),
    )[0]
    assert not judge(
        "run-daterange",
        {"end": "2024-01-01T00:00:00Z"},
        run(idle_task(), "2030-01-01T00:00:00Z", "PT1M"),
    )[0]
    with pytest.raises(LimitConfigError, match=r"Limit 'l': Invalid data: At /: "):
        load(one_limit("run-daterange", {}))
    with pytest.raises(LimitConfigError, match=r"Limit 'l': Invalid data: end must be after start"):
        load(
            one_limit(
                "run-daterange", {"start": "2024-02-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"}
            )
        )


def test_run_schedule_units_and_reasons():
    task = run(idle_task(), "2024-05-01T10:15:00Z", "PT10M")  # a Wednesday, ISO week 18
    assert judge("run-schedule", {"hour": [10], "weekday": [3], "week": [18]}, task) == (
        True,
        "passed",
    )
    passed, line = judge(
        "run-schedule", {"hour": [{"lower": 11, "upper": 12}], "month": [6], "day": [2]}, task
    )
    assert (passed, line) == (False, "failed: Mismatch on month; Mismatch on day; Mismatch on hour")
    assert judge("run-schedule", {"week": [19]}, task) == (False, "failed: Mismatch on week")
    # the run's end is exclusive: 10:15 + PT45M stays within hour 10
    assert judge("run-schedule", {"hour": [10]}, run(idle_task(), "2024-05-01T10:15:00Z", "PT45M"))[
        0
    ]
    assert judge("run-schedule", {"hour": [10]}, task) == judge(
        "run-schedule", {"minute": [{"lower": 15, "upper": 24}]}, task
    )


def test_run_schedule_overlap_and_wrapping():
    midnight = run(idle_task(), "2024-05-01T23:50:00Z", "PT20M")  # hours 23 and 0
    assert not judge("run-schedule", {"hour": [23]}, midnight)[0]
    assert judge("run-schedule", {"hour": [23], "overlap": True}, midnight)[0]
    assert judge("run-schedule", {"hour": [23, 0]}, midnight)[0]
    assert not judge("run-schedule", {"hour": [23, 1]}, midnight)[
        0
    ]  # the original wrongly had 0..wrap_to
    assert judge("run-schedule", {"hour": [{"lower": 22, "upper": 1}]}, midnight)[
        0
    ]  # wrapped range in the file
    assert judge("run-schedule", {"weekday": [0, 3, 4]}, midnight)[0]  # Wed -> Thu
    assert not judge("run-schedule", {"weekday": [3]}, midnight)[0]
    day_long = run(idle_task(), "2024-05-01T10:00:00Z", "P1DT1H")
    assert not judge("run-schedule", {"hour": [10, 11]}, day_long)[0]  # covers every hour
    assert judge("run-schedule", {"hour": [3], "overlap": True}, day_long)[0]


def test_run_schedule_inverted_is_a_blackout_window():
    lunch = {"hour": [12], "overlap": True}
    assert judge(
        "run-schedule", lunch, run(idle_task(), "2024-05-01T12:30:00Z", "PT5M"), invert=True
    ) == (
        False,
        "failed: Passed but inverted",
    )
    assert judge(
        "run-schedule", lunch, run(idle_task(), "2024-05-01T13:30:00Z", "PT5M"), invert=True
    )[0]


def test_run_schedule_rejects_bad_values():
    with pytest.raises(LimitConfigError, match=r"Limit 'l': Invalid data: At /hour/0"):
        load(one_limit("run-schedule", {"hour": [24]}))


IDLE_LIMIT = {
    "test": "idle",
    "limit": {
        "duration": {"range": {"lower": "PT1S", "upper": "PT30S"}},
        "starting-comment": {
            "match": {"style": "regex", "match": "platypus", "case-insensitive": True},
            "invert": True,
        },
        "parting-comment": {"enumeration": ["bye", "ciao"]},
        "host": {"cidr": ["127.0.0.0/8"]},
        "loud": {"match": False},
    },
}


def test_test_limit_matches_spec_fields_generically():
    assert judge("test", IDLE_LIMIT, idle_task("PT10S")) == (True, "passed")
    task = idle_task("PT1M")
    task["test"]["spec"].update(
        {
            "starting-comment": "Perry the PLATYPUS",
            "parting-comment": "later",
            "host": "192.0.2.1",
            "loud": True,
        }
    )
    passed, line = judge("test", IDLE_LIMIT, task)
    assert not passed
    assert line == (
        "failed: duration: PT1M is not in PT1S..PT30S; starting-comment: 'Perry the PLATYPUS' does match (inverted); "
        "parting-comment: later is not in the list; host: 192.0.2.1 is not in the CIDRs; loud: must be false"
    )
    assert judge("test", IDLE_LIMIT, {"schema": 1, "test": {"type": "rtt", "spec": {}}}) == (
        False,
        "failed: Test is not 'idle'",
    )


def test_test_limit_numeric_range_and_fail_message():
    data = {
        "test": "rtt",
        "limit": {"count": {"range": {"upper": 10}, "fail-message": "Too many pings"}},
    }
    rtt = {"schema": 1, "test": {"type": "rtt", "spec": {"dest": "x", "count": 50}}}
    assert judge("test", data, rtt) == (False, "failed: Too many pings")
    rtt["test"]["spec"]["count"] = 5
    assert judge("test", data, rtt)[0]


def test_test_limit_accepts_a_callable_checker():
    seen = []

    def checker(test_type, spec, limit):
        seen.append((test_type, spec["duration"], limit))
        return False, ["plugin says no"]

    processor = load(one_limit("test", {"test": "idle", "limit": {}}), test_checker=checker)
    verdict = processor.process(idle_task(), LOOPBACK)
    assert not verdict.passed and "Limit 'l' failed: plugin says no" in verdict.diags
    assert seen == [("idle", "PT5S", {})]


def test_test_limit_rejects_unknown_matchers():
    with pytest.raises(LimitConfigError, match=r"Limit 'l': Invalid data: At /limit/duration"):
        load(one_limit("test", {"test": "idle", "limit": {"duration": {"between": [1, 2]}}}))


def test_url_fetch_verdicts(server):
    server.routes["/yes"] = (200, json.dumps({"passed": True}))
    server.routes["/no"] = (200, json.dumps({"passed": False, "message": "Quota exhausted"}))
    server.routes["/bad"] = (200, "not json")
    server.routes["/err"] = (500, "oops")
    assert judge("url-fetch", {"url": server.url("/yes")}, idle_task()) == (True, "passed")
    assert judge("url-fetch", {"url": server.url("/no")}, idle_task()) == (
        False,
        "failed: Quota exhausted",
    )
    assert judge("url-fetch", {"url": server.url("/bad")}, idle_task())[0] is False
    assert judge("url-fetch", {"url": server.url("/bad"), "fail-result": True}, idle_task()) == (
        True,
        "passed",
    )
    assert judge("url-fetch", {"url": server.url("/err")}, idle_task()) == (
        False,
        "failed: Fetch returned status 500",
    )
    assert (
        judge("url-fetch", {"url": server.url("/err"), "success-only": True}, idle_task())[0]
        is False
    )
    assert judge(
        "url-fetch", {"url": server.url("/missing"), "success-only": True}, idle_task()
    ) == (
        False,
        "failed: Resource not found",
    )
    server.routes["/plain"] = (200, "whatever")
    assert judge("url-fetch", {"url": server.url("/plain"), "success-only": True}, idle_task()) == (
        True,
        "passed",
    )


def test_url_fetch_headers_params_and_transforms(server):
    server.routes["/check/idle"] = (200, json.dumps({"passed": True}))
    data = {
        "url": server.url("/check"),
        "url-transform": {"script": '.url + "/" + .run.test.type'},
        "headers": {"X-Static": "yes"},
        "params-transform": {"script": '{"who": hint("requester")}'},
    }
    assert judge("url-fetch", data, idle_task()) == (True, "passed")
    request = server.requests[-1]
    assert request["path"] == "/check/idle?who=127.0.0.1"
    assert request["headers"]["X-Static"] == "yes"


def test_clone_merges_data_and_does_not_inherit_invert():
    text = config(
        limits=[
            {
                "name": "idle-only",
                "description": "",
                "type": "test-type",
                "data": {"types": ["idle"]},
                "invert": True,
            },
            {
                "name": "rtt-too",
                "description": "",
                "clone": "idle-only",
                "data": {"types": ["rtt", "idle"]},
            },
        ],
        applications=[{"description": "A", "apply": [{"require": "all", "limits": ["rtt-too"]}]}],
    )
    assert load(text).process(idle_task(), LOOPBACK).passed


def test_limit_entries_are_validated():
    with pytest.raises(
        LimitConfigError,
        match=r"Invalid limit configuration: At /limits/0: 'type' is a required property",
    ):
        load(config(limits=[{"name": "x", "description": "", "data": {}}], applications=[]))
    with pytest.raises(
        LimitConfigError, match=r"Limit 'l': Invalid data: At /: 'pass' is a required property"
    ):
        load(one_limit("pass-fail", {}))
    with pytest.raises(LimitConfigError, match=r"^Limit 'l' has unsupported type 'nope'$"):
        load(one_limit("nope", {}))
    with pytest.raises(
        LimitConfigError, match=r"^Limit 'c': Unable to clone undefined limit 'ghost'$"
    ):
        load(
            config(
                limits=[{"name": "c", "description": "", "clone": "ghost", "data": {}}],
                applications=[],
            )
        )
    with pytest.raises(LimitConfigError, match=r"^Duplicate limit 'always'$"):
        load(
            config(
                limits=[
                    {
                        "name": "always",
                        "description": "",
                        "type": "pass-fail",
                        "data": {"pass": True},
                    }
                ]
                * 2
            )
        )
