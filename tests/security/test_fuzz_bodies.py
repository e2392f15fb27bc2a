"""Hypothesis-driven fuzzing of the JSON bodies of every write route: whatever the body, the
answer is never a 5xx.  Bounded and reproducible (derandomized, fixed seed)."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.interfaces._util import root

EXAMPLES = 30

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["\x00", "\ud800", "PT1S", "2020-01-01T00:00:00Z", "noop", "-1", ""])
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "schema",
                    "test",
                    "type",
                    "spec",
                    "schedule",
                    "archives",
                    "tool",
                    "tools",
                    "start-time",
                    "part-data-full",
                    "result-full",
                    "succeeded",
                    "name",
                    "message",
                    "msg",
                    "jobid",
                    "level",
                    "timestamp",
                    "id",
                    "participants",
                    "_key",
                    "lead-bind",
                    "reference",
                    "slip",
                    "until",
                    "repeat",
                    "max-runs",
                    "x",
                ]
            )  # fmt: skip
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


def _encode(value) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")


_bodies = (
    _json.map(_encode)
    | st.binary(max_size=64)
    | st.sampled_from(
        [b"[" * 3000, b"{" * 3000, b'{"a":' * 500 + b"1" + b"}" * 500, b"\xff\xfe", b"\x00"]
    )
)


@pytest.fixture(scope="module")
def routes(node):
    task = {"schema": 1, "test": {"type": "noop", "spec": {"schema": 1}}, "schedule": {}}
    task_url = node.post("tasks", json=task).json()
    run = node.session.get(task_url + "/runs/first", params={"wait": "30"}, timeout=45).json()
    t, r = task_url.rsplit("/", 1)[1], run["href"].rsplit("/", 1)[1]
    wid = node.session.post(root(node) + "/m1/workflow/create/", timeout=10).json()["id"]
    m1 = root(node) + "/m1"
    return {
        "create task": ("POST", node.url("tasks")),
        "participant task": ("POST", node.url(f"tasks/{uuid.uuid4()}") + "?participant=1"),
        "post run": ("POST", node.url(f"tasks/{t}/runs")),
        "put run": ("PUT", node.url(f"tasks/{t}/runs/{r}")),
        "put new run": ("PUT", node.url(f"tasks/{t}/runs/{uuid.uuid4()}")),
        "pause": ("PUT", node.url("control/pause")),
        "m1 create": ("POST", m1 + "/workflow/create/"),
        "m1 update": ("POST", f"{m1}/workflow/{wid}/"),
        "m1 rename": ("PUT", f"{m1}/workflow/{wid}/"),
    }


@pytest.mark.parametrize(
    "route",
    ["create task", "participant task", "post run", "put run", "put new run", "pause",
     "m1 create", "m1 update", "m1 rename"],
)  # fmt: skip
def test_no_body_gives_a_server_error(node, routes, route):
    method, url = routes[route]

    @seed(20261203)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(body=_bodies)
    def one(body: bytes) -> None:
        r = node.session.request(
            method, url, data=body, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert r.status_code < 500, (route, body[:200], r.status_code, r.text[:300])

    one()
