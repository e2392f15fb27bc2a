"""Helpers for calling the built-in measurement plugins directly, as the runner would."""

from __future__ import annotations

import time
import uuid

from pscheduler import plugins
from pscheduler.toolkit.iso8601 import format_timestamp, utcnow
from pscheduler.toolkit.jsonval import schema_error
from pscheduler.toolkit.program import RunControl
from tests.helpers import require_program  # noqa: F401 - re-exported for the plugin tests


def get_test(name: str):
    return plugins.registry().tests[name]


def get_tool(name: str):
    return plugins.registry().tools[name]


def run_input(test_type: str, spec: dict, participant: int = 0, pdata: list | None = None) -> dict:
    return {
        "schema": 1,
        "task-uuid": str(uuid.uuid4()),
        "schedule": {"start": format_timestamp(utcnow(), fraction=True), "duration": "PT30S"},
        "test": {"type": test_type, "spec": spec},
        "participant": participant,
        "participant-data": pdata or [{}],
    }


def control_for(tool, test: dict, slack: float = 10.0) -> RunControl:
    """A RunControl whose deadline is the tool's own duration plus some slack."""
    return RunControl(deadline=time.monotonic() + tool.duration(test).total_seconds() + slack)


def measure(tool_name: str, test_type: str, spec: dict) -> tuple[dict, dict]:
    """Validate ``spec``, check can-run, run the tool as participant 0 and merge.

    Returns (participant result, merged result); the merged result has been checked
    against the test's result schema.
    """
    test = get_test(test_type)
    assert plugins.spec_is_valid(test, spec) == {"valid": True}
    tool = get_tool(tool_name)
    test_obj = {"type": test_type, "spec": spec}
    verdict = plugins.can_run(tool, test_obj)
    assert verdict["can-run"], verdict
    local = tool.run(run_input(test_type, spec), control_for(tool, test_obj))
    merged = plugins.merged_results(tool, test_obj, [local])
    assert schema_error(test.result_schema, merged) is None, schema_error(
        test.result_schema, merged
    )
    return local, merged


def formatted(test_type: str, spec: dict, result: dict) -> tuple[str, str]:
    test = get_test(test_type)
    return test.result_format(spec, result, "text/plain"), test.result_format(
        spec, result, "text/html"
    )
