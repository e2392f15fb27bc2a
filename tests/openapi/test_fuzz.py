"""Schemathesis against a live node: every documented operation, generated requests.

Checks: no 5xx answer, and every answer conforms to the document (status code, content
type, headers, body schema).  Generation is derandomized (a fixed seed) and bounded, and
inputs that would reach beyond loopback (``dest``, ``lead-bind``) are pinned to 127.0.0.1.
Each failure is collected with the request that caused it, and the test fails listing all of
them at once.
"""

from __future__ import annotations

import collections
import os
import re
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import Node

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = int(os.environ.get("PSCHEDULER_FUZZ_EXAMPLES", "12"))
#: An endless stream cannot be checked by reading the answer to the end.
NOT_FUZZED = {("GET", "/pscheduler/events")}


@pytest.fixture(scope="module")
def fuzz_node(cluster):
    """A node of its own: fuzzing pauses it, cancels tasks and deletes workflows."""
    node = Node(cluster.new_database(), env={"PSCHEDULER_NTP_SERVER": ""}).start()
    yield node
    node.cleanup()


@pytest.fixture(scope="module")
def api_schema(fuzz_node):
    answer = fuzz_node.get("openapi.json")
    assert answer.status_code == 200, answer.text
    # Positive generation only: a deliberately invalid `api=7` rightly answers 501, which a
    # "no 5xx" check cannot tell from a crash.
    config = schemathesis.Config.from_dict({"generation": {"mode": "positive"}})
    return schemathesis.openapi.from_dict(answer.json(), config=config)


def _confine(case) -> None:
    """Keep generated requests on loopback and their waits short."""
    if case.query:
        if "dest" in case.query:
            case.query["dest"] = "127.0.0.1"
        for name in ("wait",):
            if name in case.query:
                case.query[name] = "0"
        case.query.pop("wait-local", None)
        case.query.pop("wait-merged", None)
    if case.method.upper() == "GET" and re.search(r"/runs/\{[^}]+\}$", case.path):
        # first/next wait 30 s by default (as the original): look once instead.
        case.query = {**(case.query or {}), "wait": "0"}
    if case.path == "/pscheduler/control/pause" and case.query:
        case.query["duration"] = "PT1S"
    if isinstance(case.body, dict):
        case.body.pop("lead-bind", None)


def _key(operation, exc: BaseException) -> str:
    """One report per operation and kind of failure (the first request that showed it)."""
    exceptions = getattr(exc, "exceptions", [exc])
    titles = sorted({getattr(e, "title", type(e).__name__) for e in exceptions})
    return f"{operation.method.upper()} {operation.path} {titles}"


def _describe(case, exc: BaseException) -> str:
    exceptions = getattr(exc, "exceptions", [exc])
    titles = "; ".join(sorted({getattr(e, "title", type(e).__name__) for e in exceptions}))
    detail = str(exceptions[0]).strip().splitlines()
    return f"{case.method} {case.formatted_path} query={case.query} -> {titles}: " + " | ".join(
        detail[:6]
    )


def test_every_operation_answers_as_documented(fuzz_node, api_schema):
    started = time.monotonic()
    failures: dict[str, str] = {}
    statuses: dict[str, set] = collections.defaultdict(set)
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in NOT_FUZZED:
            continue
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            _confine(case)
            try:
                response = case.call_and_validate(
                    base_url=fuzz_node.base.removesuffix("/pscheduler"),
                    session=fuzz_node.session,
                    checks=CHECKS,
                    timeout=30,
                    verify=False,
                )
                statuses[f"{case.method} {case.path}"].add(response.status_code)
            except (AssertionError, BaseExceptionGroup, requests.RequestException) as exc:
                failures.setdefault(_key(case.operation, exc), _describe(case, exc))

        run()
    elapsed = time.monotonic() - started
    print(f"{operations} operations fuzzed in {elapsed:.1f} s")
    for name, seen in sorted(statuses.items()):
        print(f"  {name}: {sorted(seen)}")
    assert operations > 50
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(sorted(failures.values()))


_IDLE = {"type": "idle", "spec": {"schema": 1, "duration": "PT1S"}}


def test_linked_operations_answer_as_documented(fuzz_node, api_schema):
    """Stateful phase: create tasks, then follow the document's links to their runs, CLI,
    runtimes and cancellation.  Generated task bodies get a runnable test (idle) so that
    creations succeed and the links have somewhere to go (generated `reference` is kept)."""
    calls: dict[str, set] = collections.defaultdict(set)

    # Only the task family: among every route's inferred links, a bounded run too rarely
    # steps from a created task to the operations the document links it to.
    tasks_only = api_schema.include(path_regex=r"^/pscheduler/tasks")

    class Machine(tasks_only.as_state_machine()):
        def before_call(self, case):
            _confine(case)
            if case.method == "POST" and case.path == "/pscheduler/tasks":
                body = case.body if isinstance(case.body, dict) else {}
                kept = {k: v for k, v in body.items() if k == "reference"}
                case.body = {**kept, "test": _IDLE, "schedule": {"start": "PT2S"}}

        def after_call(self, response, case):
            calls[f"{case.method} {case.path}"].add(response.status_code)

        def get_call_kwargs(self, case):
            return {
                "base_url": fuzz_node.base.removesuffix("/pscheduler"),
                "session": fuzz_node.session,
                "timeout": 30,
                "verify": False,
            }

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Machine.run(
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    for name, seen in sorted(calls.items()):
        print(f"  {name}: {sorted(seen)}")
    assert 200 in calls["POST /pscheduler/tasks"], "no task was created in the stateful phase"
    followed = [n for n, seen in calls.items() if "{task}" in n and 200 in seen]
    assert followed, "no link led to a created task"
