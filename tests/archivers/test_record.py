"""The archiver input record (plugins.md §3.3) and jq transforms."""

from __future__ import annotations

import datetime as dt

import pytest

from pscheduler.archiving.record import build_record
from pscheduler.toolkit.jqfilter import apply_transform, compile_error

TASK = {
    "schema": 1,
    "test": {"type": "rtt", "spec": {"dest": "127.0.0.1", "_key": "secret", "nest": {"_p": 1}}},
    "tool": "ping",
    "archives": [{"archiver": "bitbucket", "data": {}}],
    "reference": {"project": "x"},
    "detail": {"participants": ["a.example", None]},
}
RUN = {
    "id": "r-uuid",
    "start-time": "2024-05-01T10:00:00+00:00",
    "end-time": "2024-05-01T10:00:12+00:00",
    "state": "finished",
    "archivings": [{"archived": False}],
    "participant-data": [{}],
    "participant-data-full": [{}],
    "result": {"big": True},
    "result-full": [{"big": True}],
}


def build(**changes):
    kwargs = dict(
        data={"_url": "http://127.0.0.1/x", "op": "put"},
        task=TASK,
        run=RUN,
        result={"succeeded": True, "rtt": 1},
        task_href="https://node.example:443/pscheduler/tasks/t-uuid",
        run_href="https://node.example:443/pscheduler/tasks/t-uuid/runs/r-uuid",
        tool={"name": "ping", "version": "1.0"},
        participants=["a.example", None],
        local_host="me.example",
        attempts=2,
        last_attempt=dt.datetime(2024, 5, 1, 10, 1, tzinfo=dt.timezone.utc),
    )
    kwargs.update(changes)
    return build_record(**kwargs)


def test_record_has_the_wire_shape_of_the_original():
    record = build()
    assert set(record) == {"data", "task-href", "run-href", "result", "attempts", "last-attempt"}
    assert record["data"]["_url"] == "http://127.0.0.1/x"  # private data intact for the plugin
    assert record["attempts"] == 2
    assert record["last-attempt"] == "2024-05-01T10:01:00+00:00"
    result = record["result"]
    assert set(result) == {
        "id", "schedule", "test", "tool", "run", "task", "participants", "result", "reference"
    }  # fmt: skip
    assert result["id"] == "r-uuid"
    assert result["schedule"] == {"start": "2024-05-01T10:00:00+00:00", "duration": "PT12S"}
    assert result["tool"] == {"name": "ping", "version": "1.0"}
    assert result["participants"] == ["a.example", "me.example"]
    assert result["result"] == {"succeeded": True, "rtt": 1}
    assert result["reference"] == {"project": "x"}


def test_private_test_members_are_nulled_and_bulky_members_dropped():
    result = build()["result"]
    assert result["test"]["spec"] == {"dest": "127.0.0.1", "_key": None, "nest": {"_p": None}}
    assert "archives" not in result["task"]
    assert result["task"]["href"] == "https://node.example:443/pscheduler/tasks/t-uuid"
    for member in ("archivings", "participant-data", "participant-data-full", "result"):
        assert member not in result["run"]
    assert result["run"]["state"] == "finished"
    assert result["run"]["task-href"] == result["task"]["href"]
    assert TASK["test"]["spec"]["_key"] == "secret"  # the caller's objects are not changed


def test_uri_host_replaces_the_host_of_both_hrefs():
    record = build(uri_host="public.example:8443")
    assert record["task-href"] == "https://public.example:8443/pscheduler/tasks/t-uuid"
    assert record["run-href"] == "https://public.example:8443/pscheduler/tasks/t-uuid/runs/r-uuid"
    assert record["result"]["run"]["href"] == record["run-href"]


def test_run_duration_is_used_when_given():
    run = {k: v for k, v in RUN.items() if k != "end-time"} | {"duration": "PT5S"}
    assert build(run=run)["result"]["schedule"]["duration"] == "PT5S"


def test_transform_with_args_and_script_lines():
    transform = {"script": ["{v: (.rtt + $add),", " who: $who}"], "args": {"add": 2, "who": "me"}}
    assert apply_transform(transform, {"rtt": 1}) == ({"v": 3, "who": "me"}, None)


def test_transform_output_raw_gives_text():
    transform = {"script": ".[] | .x", "output-raw": True}
    assert apply_transform(transform, [{"x": "a"}, {"x": 3}]) == ("a\n3", None)


@pytest.mark.parametrize("script", ["null", "empty", "if .ok then . else null end"])
def test_null_output_means_do_not_archive(script):
    assert apply_transform({"script": script}, {"ok": False}) == (None, None)


def test_transform_that_does_not_compile_is_an_error_with_jqs_message():
    value, error = apply_transform({"script": ".a +"}, {"a": 1})
    assert value is None
    assert "syntax error" in error
    assert "syntax error" in compile_error({"script": ".a +"})
    assert "$nope is not defined" in compile_error({"script": "$nope"})
    assert compile_error({"script": [".a", "| . + 1"]}) is None


def test_transform_that_fails_at_run_time_is_an_error():
    assert apply_transform({"script": 'error("no way")'}, {}) == (None, "no way")
    value, error = apply_transform({"script": ".a | tonumber"}, {"a": "x"})
    assert value is None and "cannot be parsed as a number" in error


@pytest.mark.parametrize(
    "transform", [{"script": 3}, {"script": [".", 4]}, {"script": ".", "args": [1]}]
)
def test_malformed_transforms_are_errors_not_crashes(transform):
    assert compile_error(transform)
    assert apply_transform(transform, {})[1]
