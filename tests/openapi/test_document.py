"""The OpenAPI document: valid OpenAPI 3.1, and in step with the application's routes."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint, Flask
from openapi_spec_validator import validate

from pscheduler.api import create_app
from pscheduler.api.doc import doc, json_body, path
from pscheduler.api.openapi import document_for, operations, problems, rule_paths
from pscheduler.api.schemas import SCHEMAS
from pscheduler.config import Config


@pytest.fixture(scope="module")
def app():
    return create_app(Config(), db=None)


def test_document_is_valid_openapi_3_1(app):
    validate(document_for(app))


def test_every_route_is_documented_and_every_description_routed(app):
    found = problems(app)
    assert not found, (
        "Put an @doc (pscheduler/api/doc.py) above each view, one per method and any()"
        " alternative it serves:\n  " + "\n  ".join(found)
    )


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_the_document_has_exactly_the_routed_operations(app):
    """Route coverage both ways: nothing routed is missing, nothing documented is unrouted."""
    routed = {
        (method.lower(), _shape(concrete))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and "<path:" not in rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}
        for concrete, _ in rule_paths(rule.rule)
    }
    documented = {(m, _shape(p)) for p, m, _ in operations(document_for(app))}
    assert routed - documented == set()
    assert documented - routed == set()
    assert len(documented) > 60


def test_server_built_objects_are_closed():
    for name in ("Task", "TaskDetail", "Run", "Archiving", "NodeStatus", "ScheduleEntry"):
        assert SCHEMAS[name]["additionalProperties"] is False, name
        assert SCHEMAS[name]["required"], name
    assert "detail" in SCHEMAS["Task"]["properties"]
    assert "detail" not in SCHEMAS["Task"]["required"]
    assert set(SCHEMAS["Run"]["required"]) >= {"state", "href", "result-href", "start-time"}


def test_rule_paths_expand_any_and_keep_the_alternative():
    assert rule_paths("/p/<any(tests, tools):plural>/<name>") == [
        ("/p/tests/{name}", {"plural": "tests"}),
        ("/p/tools/{name}", {"plural": "tools"}),
    ]
    assert rule_paths("/t/<task_uuid>/runs/<int:n>") == [("/t/{task_uuid}/runs/{n}", {})]


def _toy_app(*decorators) -> Flask:
    bp = Blueprint("toy", __name__)

    def view(kind: str, thing: str):
        return ""

    for decorate in decorators:
        view = decorate(view)
    bp.add_url_rule("/<any(a, b):kind>/<thing>", view_func=view, methods=["GET", "PUT"])
    app = Flask(__name__)
    app.register_blueprint(bp, url_prefix="/x")
    return app


_OK = {200: json_body({})}
_THING = path("name")


def test_a_missing_description_is_a_problem():
    found = problems(_toy_app(doc("a only", _OK, [_THING], when={"kind": "a"})))
    assert any("GET /x/b/{thing}" in p and "no @doc" in p for p in found)
    assert any("PUT /x/b/{thing}" in p for p in found)


def test_an_unused_or_doubled_description_is_a_problem():
    found = problems(
        _toy_app(
            doc("all", _OK, [_THING]),
            doc("again", _OK, [_THING]),
            doc("no such method", _OK, [_THING], method="post"),
        )
    )
    assert any("two @doc descriptions apply" in p for p in found)
    assert any("@doc for post" in p and "matches no route" in p for p in found)


def test_the_most_specific_description_wins_and_variables_take_the_documented_names():
    app = _toy_app(
        doc("all", _OK, [_THING]), doc("put on b", _OK, [_THING], method="put", when={"kind": "b"})
    )
    assert not problems(app)
    paths = document_for(app)["paths"]
    assert paths["/x/b/{name}"]["put"]["summary"] == "put on b"
    assert paths["/x/a/{name}"]["put"]["summary"] == "all"
    assert paths["/x/b/{name}"]["get"]["tags"] == ["toy"]


def test_path_parameters_must_match_the_rule():
    found = problems(_toy_app(doc("all", _OK)))
    assert any("do not match the rule's variables" in p for p in found)
