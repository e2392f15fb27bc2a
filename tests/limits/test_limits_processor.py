"""Applications, classification, the rewriter, the prioritizer, load errors and the
diagnostic text, through the seam the API uses (load + process -> Verdict)."""

from __future__ import annotations

import json

import pytest

from pscheduler.limits import NO_LIMITS, LimitConfigError, inert, load

from .conftest import LOOPBACK, OUTSIDER, config, idle_task

PASS = {"name": "yes", "description": "", "type": "pass-fail", "data": {"pass": True}}
FAIL = {"name": "no", "description": "", "type": "pass-fail", "data": {"pass": False}}
FAIL2 = {"name": "no2", "description": "", "type": "pass-fail", "data": {"pass": False}}


def group_verdict(require: str, limits: list[str]) -> bool:
    text = config(
        limits=[PASS, FAIL, FAIL2],
        applications=[{"description": "G", "apply": [{"require": require, "limits": limits}]}],
    )
    return load(text).process(idle_task(), LOOPBACK).passed


@pytest.mark.parametrize(
    "require, limits, expected",
    [
        ("all", ["yes"], True),
        ("all", ["yes", "no"], False),
        ("all", [], True),
        ("any", ["no", "yes"], True),
        ("any", ["no", "no2"], False),
        ("one", ["yes", "no"], True),
        ("one", ["no", "no2"], False),
        ("none", ["no", "no2"], True),
        ("none", ["yes", "no"], False),
    ],
)
def test_group_require_modes(require, limits, expected):
    assert group_verdict(require, limits) is expected


def test_groups_stop_at_the_first_failure():
    text = config(
        limits=[PASS, FAIL],
        applications=[
            {
                "description": "Two groups",
                "apply": [
                    {"require": "all", "limits": ["no"]},
                    {"require": "all", "limits": ["yes"]},
                ],
            }
        ],
    )
    diags = load(text).process(idle_task(), LOOPBACK).diags
    assert "Group 1: Want all, 0/1 passed, 1/1 failed: FAIL" in diags
    assert "Group 2" not in diags


def test_application_invert():
    text = config(
        limits=[FAIL],
        applications=[
            {
                "description": "Not no",
                "apply": [{"require": "all", "limits": ["no"]}],
                "invert": True,
            }
        ],
    )
    verdict = load(text).process(idle_task(), LOOPBACK)
    assert verdict.passed and "  Application PASSES (Inverted)" in verdict.diags.splitlines()


def test_stop_on_failure_prevents_later_applications():
    apps = [
        {"description": "First", "apply": [{"require": "all", "limits": ["no"]}]},
        {"description": "Second", "apply": [{"require": "all", "limits": ["yes"]}]},
    ]
    assert (
        load(config(limits=[PASS, FAIL], applications=apps)).process(idle_task(), LOOPBACK).passed
    )
    apps[0]["stop-on-failure"] = True
    verdict = load(config(limits=[PASS, FAIL], applications=apps)).process(idle_task(), LOOPBACK)
    assert not verdict.passed
    assert verdict.diags.splitlines()[-3:] == [
        "Failed; stop forced",
        "Proposal does not meet limits",
        "Priority set to default of 0",
    ]
    assert "Second" not in verdict.diags


def test_applications_follow_classifiers_and_require_modes():
    identifiers = [
        {
            "name": "local",
            "description": "",
            "type": "ip-cidr-list",
            "data": {"cidrs": ["127.0.0.0/8"]},
        },
        {
            "name": "doc",
            "description": "",
            "type": "ip-cidr-list",
            "data": {"cidrs": ["203.0.113.0/24"]},
        },
    ]
    classifiers = [
        {"name": "locals", "description": "", "identifiers": ["local"]},
        {"name": "strangers", "description": "", "identifiers": ["local"], "require": "none"},
        {"name": "both", "description": "", "identifiers": ["local", "doc"], "require": "all"},
        {"name": "either", "description": "", "identifiers": ["local", "doc"], "require": "one"},
    ]
    apps = [
        {
            "description": "Locals",
            "classifier": "locals",
            "apply": [{"require": "all", "limits": ["yes"]}],
        },
        {
            "description": "Strangers",
            "classifier": "strangers",
            "apply": [{"require": "all", "limits": ["no"]}],
        },
    ]
    processor = load(
        config(
            identifiers=identifiers,
            classifiers=classifiers,
            limits=[PASS, FAIL],
            applications=apps,
            schema=4,
        )
    )
    local = processor.process(idle_task(), LOOPBACK)
    assert local.passed and "Classified as locals, either" in local.diags
    stranger = processor.process(idle_task(), OUTSIDER)
    assert not stranger.passed
    assert (
        "Classified as strangers, either" in stranger.diags
        and "Application: Locals" not in stranger.diags
    )
    nobody = processor.process(idle_task(), {"requester": "192.0.2.1"})
    assert "Made no identifications." in nobody.diags and not nobody.passed


def test_no_classification_fails():
    text = config(
        classifiers=[
            {"name": "c", "description": "", "identifiers": ["everybody"], "require": "none"}
        ],
        schema=4,
    )
    verdict = load(text).process(idle_task(), LOOPBACK)
    assert not verdict.passed and verdict.diags.endswith(
        "Identified as everybody\nMade no classifications."
    )


def test_nothing_applying_fails():
    text = config(
        classifiers=[
            {"name": "everyone", "description": "", "identifiers": ["everybody"]},
            {"name": "other", "description": "", "identifiers": ["everybody"], "require": "none"},
        ],
        applications=[{"classifier": "other", "apply": [{"require": "all", "limits": ["always"]}]}],
        schema=4,
    )
    verdict = load(text).process(idle_task(), LOOPBACK)
    assert not verdict.passed and "Proposal does not meet limits" in verdict.diags


def test_diagnostic_text_in_order():
    text = config(
        identifiers=[
            {"name": "everybody", "description": "", "type": "always", "data": {}},
            {
                "name": "private",
                "description": "",
                "type": "ip-cidr-list",
                "data": {"cidrs": ["127.0.0.0/8"]},
            },
        ],
        classifiers=[{"name": "default", "description": "", "identifiers": ["everybody"]}],
        limits=[
            {
                "name": "cheap-tests",
                "description": "",
                "type": "test-type",
                "data": {"types": ["idle"]},
            },
            {"name": "never", "description": "", "type": "pass-fail", "data": {"pass": False}},
            {
                "name": "lunch",
                "description": "",
                "type": "run-schedule",
                "data": {"hour": [12], "overlap": True},
                "invert": True,
            },
            {"name": "always", "description": "", "type": "pass-fail", "data": {"pass": True}},
        ],
        applications=[
            {
                "description": "Everybody else",
                "classifier": "default",
                "apply": [
                    {"require": "any", "limits": ["cheap-tests", "never"]},
                    {"require": "all", "limits": ["lunch", "always"]},
                ],
                "stop-on-failure": True,
            }
        ],
        schema=2,
        rewrite={
            "script": [
                'import "pscheduler/iso8601" as iso;',
                "if iso::duration_as_seconds(.test.spec.duration) < 5",
                '  then .test.spec.duration = "PT5S" | change("Bumped duration to 5-second minimum")',
                "  else . end",
            ]
        },
    )
    task = {
        **idle_task("PT1S"),
        "run_schedule": {"start": "2024-05-01T12:00:00Z", "duration": "PT5S"},
    }
    verdict = load(text).process(task, {"server": "192.0.2.2", "requester": "127.0.0.9"})
    assert verdict.diags == "\n".join(
        [
            "Hints:",
            "  requester: 127.0.0.9",
            "  server: 192.0.2.2",
            "Identified as everybody, private",
            "Classified as default",
            "Rewriter made changes:",
            "  Bumped duration to 5-second minimum",
            "Application: Everybody else",
            "  Group 1: Limit 'cheap-tests' passed",
            "  Group 1: Limit 'never' failed: Forced failure",
            "  Group 1: Want any, 1/2 passed, 1/2 failed: PASS",
            "  Group 2: Limit 'lunch' failed: Passed but inverted",
            "  Group 2: Limit 'always' passed",
            "  Group 2: Want all, 1/2 passed, 1/2 failed: FAIL",
            "  Application FAILS",
            "Failed; stop forced",
            "Proposal does not meet limits",
            "Priority set to default of 0",
        ]
    )
    assert verdict.rewritten and verdict.task["test"]["spec"]["duration"] == "PT5S"
    assert task["test"]["spec"]["duration"] == "PT1S"  # the caller's task is not modified


def rewriting(script, **task_extra):
    text = config(schema=2, rewrite={"script": script})
    return load(text).process(idle_task(**task_extra), LOOPBACK)


def test_rewriter_without_a_real_change_leaves_the_task_alone():
    task = idle_task()
    verdict = load(config(schema=2, rewrite={"script": "."})).process(task, LOOPBACK)
    assert verdict.passed and not verdict.rewritten and verdict.task is task
    assert "Rewriter" not in verdict.diags
    assert not rewriting('change("claimed but nothing changed")').rewritten


def test_rewriter_change_is_judged_and_reported():
    verdict = rewriting('.test.spec.duration = "PT9S"')  # changed without change(): not enumerated
    assert verdict.rewritten and "Rewriter made changes:\n  (Not enumerated)" in verdict.diags
    helpers = rewriting(
        'if classifiers_has("everyone") and hint("requester") == "127.0.0.1" then .reference = classifiers | change("tagged") else . end'
    )
    assert helpers.task["reference"] == ["everyone"] and "  tagged" in helpers.diags.splitlines()


def test_rewriter_is_skipped_when_not_asked():
    text = config(schema=2, rewrite={"script": '.test.spec.duration = "PT9S"'})
    verdict = load(text).process(idle_task(), LOOPBACK, rewrite=False)
    assert not verdict.rewritten and verdict.task["test"]["spec"]["duration"] == "PT5S"


@pytest.mark.parametrize(
    "script, message",
    [
        ('reject("no idling")', "Error while rewriting: Task rejected: no idling"),
        (
            '.test.type = "rtt"',
            "Error while rewriting: Invalid rewriter result: the task must keep its test type",
        ),
        (
            "del(.test.spec)",
            "Error while rewriting: Invalid rewriter result: the task must keep its test type",
        ),
        ('error("bad")', "Error while rewriting: bad"),
    ],
)
def test_rewriter_failures_deny(script, message):
    verdict = rewriting(script)
    assert not verdict.passed and message in verdict.diags
    assert verdict.diags.startswith("Hints:") and "Classified as everyone" in verdict.diags


def prioritized(script, **task_extra):
    text = config(schema=3, priority={"script": script})
    return load(text).process(idle_task(**task_extra), LOOPBACK, prioritize=True)


def test_prioritizer_sets_and_explains_priority():
    verdict = prioritized(
        [
            'set(default; "Initial")',
            '| if classifiers_has("everyone") then adjust(5; "Friendly") else . end',
            '| adjust(-2; "Because")',
            '| if requested != null and requested > priority then set(requested; "Asked") else . end',
        ],
        priority=10,
    )
    assert verdict.priority == 10
    assert verdict.diags.splitlines()[-5:] == [
        "Priority 10 requested, set at 10:",
        "  Initial  (Set to 0)",
        "  Friendly  (+5)",
        "  Because  (-2)",
        "  Asked  (Set to 10)",
    ]
    quiet = prioritized(".__PRIORITIZER_PRIVATE__.priority += 3")
    assert quiet.priority == 3 and quiet.diags.splitlines()[-1] == "Priority set at 3."


def test_prioritizer_only_when_asked_and_passed():
    text = config(schema=3, priority={"script": 'adjust(7; "x")'})
    verdict = load(text).process(idle_task(), LOOPBACK)  # prioritize=False
    assert verdict.priority == 0 and verdict.diags.endswith("Priority set to default of 0")
    denied = load(
        config(
            schema=3,
            limits=[FAIL],
            applications=[{"apply": [{"require": "all", "limits": ["no"]}]}],
            priority={"script": 'adjust(7; "x")'},
        )
    )
    assert denied.process(idle_task(), LOOPBACK, prioritize=True).priority == 0


@pytest.mark.parametrize(
    "script, message",
    [
        (
            "del(.__PRIORITIZER_PRIVATE__)",
            "Error determining priority: Prioritizer destroyed private data",
        ),
        (
            'set("high"; "x")',
            "Error determining priority: Prioritizer produced a priority that is not an integer",
        ),
    ],
)
def test_prioritizer_failures(script, message):
    verdict = prioritized(script)
    assert not verdict.passed and message in verdict.diags


def test_inert_processor_passes_everything():
    verdict = inert().process(idle_task(), OUTSIDER, prioritize=True)
    assert (verdict.passed, verdict.diags, verdict.priority) == (True, NO_LIMITS, None)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{nope", "Invalid limit configuration: Invalid JSON: "),
        ("[1]", "Invalid limit configuration: must be a JSON object"),
        (config(schema=7), "Invalid limit configuration: At /schema: schema 7 is not supported"),
        (
            config(
                classifiers=[{"name": "c", "description": "", "identifiers": [], "require": "all"}],
                schema=3,
            ),
            "Invalid limit configuration: At /classifiers/0: Additional properties are not allowed ('require' was unexpected)",
        ),
        (
            config(rewrite={"script": "."}),
            "Invalid limit configuration: At /: Additional properties are not allowed ('rewrite' was unexpected)",
        ),
        (
            config(
                identifiers=[{"name": "a", "description": "", "type": "always", "data": {}}] * 2
            ),
            "Duplicate identifier 'a'",
        ),
        (
            config(classifiers=[{"name": "c", "description": "", "identifiers": ["x", "y"]}]),
            "Unknown identifiers: x, y",
        ),
        (
            config(
                applications=[{"classifier": "zz", "apply": [{"require": "all", "limits": ["q"]}]}]
            ),
            "Unknown classifiers: zz.  Unknown limits: q",
        ),
        (
            config(
                identifiers=[{"name": "a", "description": "", "type": "psychic", "data": {}}],
                classifiers=[],
            ),
            "Identifier 'a' has unsupported type 'psychic'",
        ),
        (config(schema=2, rewrite={"script": ". |"}), "Invalid rewriter: syntax error"),
    ],
)
def test_load_errors(text, message):
    with pytest.raises(LimitConfigError) as caught:
        load(text)
    assert str(caught.value).startswith(message), str(caught.value)


def test_comments_are_stripped_and_file_may_be_a_url(server, tmp_path):
    doc = json.loads(config())
    doc["#"] = "a comment"
    doc["limits"][0]["#note"] = "another"
    server.routes["/limits.conf"] = (200, json.dumps(doc))
    path = tmp_path / "limits.conf"
    path.write_text(server.url("/limits.conf") + "\n")
    assert load(str(path)).process(idle_task(), LOOPBACK).passed
    path.write_text(server.url("/missing.conf"))
    with pytest.raises(
        LimitConfigError,
        match=r"Unable to load limit configuration from .*/missing.conf: Status 404",
    ):
        load(path)
    with pytest.raises(LimitConfigError, match=r"^Unable to read limit configuration: "):
        load(str(tmp_path / "absent.conf"))


def test_limit_that_throws_fails_with_its_error():
    text = config(
        limits=[{"name": "when", "description": "", "type": "run-schedule", "data": {"hour": [1]}}],
        applications=[{"apply": [{"require": "all", "limits": ["when"]}]}],
    )
    task = {**idle_task(), "run_schedule": {"start": "yesterday", "duration": "PT1S"}}
    verdict = load(text).process(task, LOOPBACK)
    assert not verdict.passed
    assert (
        "  Group 1: Limit 'when' failed: Limit when threw an exception:\nValueError: Invalid ISO8601 date: 'yesterday'"
        in verdict.diags
    )


def test_process_never_raises():
    verdict = load(config()).process(idle_task(), ["not", "a", "dict"])
    assert not verdict.passed
    assert verdict.diags.startswith(
        "Failed to process limits: processor threw an exception.\n\nTraceback"
    )
    assert verdict.diags.endswith("Please report this as a bug.")
