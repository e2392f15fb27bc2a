"""mtu and netreach end to end through a node, on loopback and inside network namespaces
this module makes (a loopback with a smaller MTU; a network where only one address
answers)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.e2e.netns import in_namespace, namespace
from tests.e2e.test_measurements import measured, tool_diags
from tests.helpers import require_program

ONLY = "192.0.2.19"  # RFC 5737, on the namespace's loopback only


def task(test: str, spec: dict, tool: str | None = None, contexts: dict | None = None) -> dict:
    body: dict = {
        "schema": 2 if contexts else 1,
        "test": {"type": test, "spec": spec},
        "schedule": {},
    }
    if tool:
        body["tools"] = [tool]
    if contexts:
        body["contexts"] = contexts
    return body


def test_catalogue_lists_them(node):
    assert {"mtu", "netreach"} <= {u.rsplit("/", 1)[1] for u in node.get("tests").json()}
    assert {"tracemtu", "fpingreach", "nmapreach"} <= {
        u.rsplit("/", 1)[1] for u in node.get("tools").json()
    }


def test_cli_of_a_stored_task(node):
    url = node.post(
        "tasks", json=task("netreach", {"network": "127.0.0.0/29", "gateway": -1, "scan": "up"})
    ).json()
    cli = node.session.get(url + "/cli", timeout=10).json()
    assert cli == ["netreach", "--network", "127.0.0.0/29", "--gateway", "-1", "--scan", "up"]
    spec = node.get("tests/netreach/spec", params={"args": json.dumps(cli[1:])}).json()
    assert spec == {"schema": 1, "network": "127.0.0.0/29", "gateway": -1, "scan": "up"}


def test_mtu_on_loopback_matches_tracepath(node):
    require_program("tracepath")
    direct = subprocess.run(
        ["tracepath", "-n", "127.0.0.1"], capture_output=True, text=True, timeout=30
    )
    pmtu = int(re.search(r"Resume: pmtu (\d+)", direct.stdout)[1])
    run, text, html = measured(node, node.post("tasks", json=task("mtu", {"dest": "127.0.0.1"})))
    assert run["state"] == "finished", run
    assert run["result-merged"] == {"schema": 1, "mtu": pmtu, "succeeded": True}
    assert tool_diags(run).startswith("tracepath -n")
    assert text.strip() == f"MTU: {pmtu}" and f"<td>{pmtu}</td>" in html


def test_mtu_inside_a_namespace_sees_its_loopback_mtu(node):
    require_program("tracepath")
    with namespace((ONLY,), mtu=1400) as name:
        posted = node.post("tasks", json=task("mtu", {"dest": ONLY}, contexts=in_namespace(name)))
        run, text, _ = measured(node, posted)
    assert run["state"] == "finished", run
    assert run["result-merged"]["mtu"] == 1400
    assert text.strip() == "MTU: 1400"


@pytest.mark.parametrize(("tool", "program"), [("fpingreach", "fping"), ("nmapreach", "nmap")])
def test_netreach_on_loopback(node, tool, program):
    require_program(program)
    spec = {"network": "127.0.0.0/29", "gateway": 1, "limit": 2, "timeout": "PT1S"}
    run, text, _ = measured(node, node.post("tasks", json=task("netreach", spec, tool)))
    assert run["state"] == "finished" and tool_diags(run).startswith(program), run
    assert run["result-merged"] == {
        "schema": 1,
        "gateway-up": True,
        "network-up": True,
        "succeeded": True,
    }
    assert text.splitlines() == ["Gateway ... Up", "Network ... Up"]


@pytest.mark.parametrize(("tool", "program"), [("fpingreach", "fping"), ("nmapreach", "nmap")])
def test_netreach_in_a_namespace_finds_the_one_host(node, tool, program):
    """192.0.2.16/29 inside the namespace: only .19 exists.  Scanning up from .17 with a
    limit of 2 (gateway .19 excluded) finds nothing; the gateway itself answers."""
    require_program(program)
    with namespace((ONLY,)) as name:
        spec = {
            "network": "192.0.2.16/29",
            "gateway": ONLY,
            "scan": "up",
            "limit": 2,
            "timeout": "PT1S",
        }
        down = node.post("tasks", json=task("netreach", spec, tool, in_namespace(name)))
        spec_up = {
            "network": "192.0.2.16/29",
            "gateway": 1,
            "scan": "up",
            "limit": 3,
            "timeout": "PT1S",
        }
        up = node.post("tasks", json=task("netreach", spec_up, tool, in_namespace(name)))
        run_down, text_down, _ = measured(node, down)
        run_up, _, _ = measured(node, up)
    assert run_down["result-merged"] == {
        "schema": 1,
        "gateway-up": True,
        "network-up": False,
        "succeeded": True,
    }, run_down
    assert text_down.splitlines() == ["Gateway ... Up", "Network ... Down"]
    assert "192.0.2.17" in tool_diags(run_down) and "192.0.2.18" in tool_diags(run_down)
    assert run_up["result-merged"] == {
        "schema": 1,
        "gateway-up": False,
        "network-up": True,
        "succeeded": True,
    }, run_up
