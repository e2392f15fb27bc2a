"""Contexts end to end: a task's contexts wrap every program its tool runs.

``linuxnns`` is proved by pinging an address that exists only on the loopback of a network
namespace this module creates (and removes): ping finds it only when it runs in there.
``changefail`` makes the tool's program fail with the context's own message.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from pscheduler import plugins
from tests.e2e.netns import namespace
from tests.e2e.test_measurements import measured, tool_diags
from tests.helpers import require_program

# A documentation address (RFC 5737) put on the namespace's loopback only: traffic to it
# never leaves the namespace.
NS_ADDRESS = "192.0.2.19"


@pytest.fixture(scope="module")
def ns_with_address():
    with namespace((NS_ADDRESS,)) as name:
        yield name


def contexts_task(spec: dict, contexts: list[dict]) -> dict:
    return {
        "schema": 2,
        "test": {"type": "rtt", "spec": spec},
        "contexts": {"schema": 1, "contexts": [contexts]},
        "schedule": {},
    }


def test_contexts_are_listed_and_validate_their_data(node):
    names = {u.rsplit("/", 1)[1] for u in node.get("contexts").json()}
    assert names >= {"changenothing", "changefail", "linuxnns", "linuxvrf"}
    ok = node.get("contexts/linuxnns/data-is-valid", params={"data": '{"namespace": "blue"}'})
    assert ok.json() == {"valid": True}
    bad = node.get("contexts/linuxnns/data-is-valid", params={"data": '{"namespace": "a/b"}'})
    assert bad.json() == {
        "valid": False,
        "error": "At /namespace: 'a/b' is not a valid namespace name.",
    }
    assert (
        node.get("contexts/linuxnns/data-is-valid", params={"data": "{}"}).json()["valid"] is False
    )
    assert node.get(
        "contexts/linuxvrf/data-is-valid", params={"data": '{"vrf": "red"}'}
    ).json() == {"valid": True}
    assert node.get("contexts/changefail/data-is-valid", params={"data": "{}"}).json() == {
        "valid": True
    }


def test_task_with_unknown_context_data_is_refused(node):
    task = contexts_task({"dest": "127.0.0.1"}, [{"context": "linuxnns", "data": {"ns": "x"}}])
    r = node.post("tasks", json=task)
    assert r.status_code == 400 and "Invalid context data" in r.text


def test_wrappers_compose_in_order():
    contexts = plugins.registry().contexts
    inner = contexts["linuxnns"].wrap({"namespace": "blue"}, ["ping", "-c1", "x"])
    assert inner[-3:] == ["ping", "-c1", "x"] and "netns" in inner and "blue" in inner
    assert contexts["changefail"].wrap({}, inner)[0] == "/bin/sh"


def test_rtt_inside_a_namespace_reaches_its_own_address(node, ns_with_address):
    namespace = ns_with_address
    require_program("ping")
    direct = subprocess.run(
        ["ip", "netns", "exec", namespace, "ping", "-n", "-c", "2", "-i", "0.2", NS_ADDRESS],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert direct.returncode == 0, direct.stderr
    spec = {"dest": NS_ADDRESS, "count": 2, "interval": "PT0.2S"}
    posted = node.post(
        "tasks",
        json=contexts_task(spec, [{"context": "linuxnns", "data": {"namespace": namespace}}]),
    )
    run, text, _ = measured(node, posted)
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert (merged["sent"], merged["received"], merged["loss"]) == (2, 2, 0.0)
    assert [t["ip"] for t in merged["roundtrips"]] == [NS_ADDRESS, NS_ADDRESS]
    assert "2 packets transmitted, 2 received" in tool_diags(run)
    assert "2 packets transmitted, 2 received" in direct.stdout
    assert "0% Packet Loss" in text


def test_rtt_in_a_namespace_with_loopback_down_gets_no_answer(node):
    """A fresh namespace's loopback is down: 127.0.0.1 answers on the host, not in there."""
    require_program("ping")
    with namespace(loopback_up=False) as name:
        spec = {"dest": "127.0.0.1", "count": 1}
        posted = node.post(
            "tasks",
            json=contexts_task(spec, [{"context": "linuxnns", "data": {"namespace": name}}]),
        )
        run, _, _ = measured(node, posted)
    merged = run["result-merged"]
    assert merged.get("received", 0) == 0, merged


def test_changefail_makes_the_program_fail(node):
    posted = node.post(
        "tasks",
        json=contexts_task(
            {"dest": "127.0.0.1", "count": 1}, [{"context": "changefail", "data": {}}]
        ),
    )
    run, _, _ = measured(node, posted)
    assert run["state"] == "failed", run
    full = run["result-full"][0]
    assert full["succeeded"] is False
    assert "Failed intentionally." in (full.get("error") or "") + (full.get("diags") or "")


def test_changenothing_leaves_the_measurement_alone(node):
    posted = node.post(
        "tasks",
        json=contexts_task(
            {"dest": "127.0.0.1", "count": 1}, [{"context": "changenothing", "data": {}}]
        ),
    )
    run, _, _ = measured(node, posted)
    assert run["state"] == "finished" and run["result-merged"]["received"] == 1


def test_linuxvrf_runs_the_program_through_ip_vrf_exec(node):
    """This kernel may have no VRF support; a VRF that does not exist fails with ip's reason."""
    require_program("ip")
    if os.geteuid() != 0:
        pytest.skip("ip vrf exec needs root")
    wrapped = plugins.registry().contexts["linuxvrf"].wrap({"vrf": "nonesuch0"}, ["true"])
    assert wrapped[1:4] == ["vrf", "exec", "nonesuch0"] and wrapped[-1] == "true"
    direct = subprocess.run(wrapped, capture_output=True, text=True, timeout=10)
    assert direct.returncode != 0
    posted = node.post(
        "tasks",
        json=contexts_task(
            {"dest": "127.0.0.1", "count": 1},
            [{"context": "linuxvrf", "data": {"vrf": "nonesuch0"}}],
        ),
    )
    run, _, _ = measured(node, posted)
    assert run["state"] == "failed", run
    full = run["result-full"][0]
    assert direct.stderr.strip().splitlines()[0] in (full.get("error") or "") + (
        full.get("diags") or ""
    )
