"""The OpenAPI document: valid OpenAPI 3.1, and in step with the application's routes."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from pscheduler import openapi
from pscheduler.api import create_app
from pscheduler.api.openapi import document_for, routed_operations, rule_paths, shape
from pscheduler.api.openapi_fragments import FAMILIES, INFO
from pscheduler.api.openapi_fragments.common import PENDING
from pscheduler.config import Config


@pytest.fixture(scope="module")
def app():
    return create_app(Config(), db=None)


def _documented(document: dict) -> dict[tuple[str, str], dict]:
    return {(m, shape(p)): op for p, m, op in openapi.operations(document)}


def test_full_document_and_served_document_are_valid_openapi_3_1(app):
    validate(openapi.build(FAMILIES, INFO))
    validate(document_for(app))


def test_every_route_is_documented(app):
    documented = _documented(openapi.build(FAMILIES, INFO))
    missing = sorted(rule for key, rule in routed_operations(app).items() if key not in documented)
    assert not missing, (
        "Routes without an OpenAPI fragment (add them under pscheduler/api/openapi_fragments/"
        " and list the module in FAMILIES):\n  " + "\n  ".join(missing)
    )


def test_every_documented_operation_is_routed(app):
    routed = routed_operations(app)
    extra = sorted(
        f"{m.upper()} {p}"
        for p, m, op in openapi.operations(openapi.build(FAMILIES, INFO))
        if (m, shape(p)) not in routed and not op.get(PENDING)
    )
    assert not extra, "Documented operations the application does not route:\n  " + "\n  ".join(
        extra
    )


def test_served_document_leaves_out_pending_routes_not_yet_routed(app):
    routed = routed_operations(app)
    served = document_for(app)
    assert set(_documented(served)) <= set(routed)
    assert not any(PENDING in op for _, _, op in openapi.operations(served))


def test_rule_paths_expand_any_and_rename_variables():
    assert rule_paths("/p/<any(tests, tools):plural>/<name>") == [
        "/p/tests/{name}",
        "/p/tools/{name}",
    ]
    assert rule_paths("/t/<task_uuid>/runs/<int:n>") == ["/t/{task_uuid}/runs/{n}"]
    assert shape("/t/{task}/runs/{run}") == shape("/t/{task_uuid}/runs/{run_ref}")


def test_conflicting_fragments_are_refused():
    from types import SimpleNamespace

    one = SimpleNamespace(PATHS={"/x": {"get": {"summary": "a", "responses": {}}}})
    two = SimpleNamespace(PATHS={"/x": {"get": {"summary": "b", "responses": {}}}})
    with pytest.raises(openapi.FragmentConflict, match="GET /x"):
        openapi.build([one, two], INFO)
