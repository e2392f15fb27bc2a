"""openports with nmapscan: called directly and through a node, against ports this module
opens on loopback, beside nmap run directly."""

from __future__ import annotations

import json
import socketserver
import subprocess
import threading

import pytest

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from tests.e2e.test_measurements import measured, tool_diags
from tests.helpers import free_port, require_program
from tests.plugins.plugin_helpers import formatted, get_test, measure


class Banner(socketserver.BaseRequestHandler):
    """Greets like an SSH server, so that nmap's service detection names it at once."""

    def handle(self):
        self.request.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")


@pytest.fixture(scope="module")
def listening():
    servers = [socketserver.ThreadingTCPServer(("127.0.0.1", 0), Banner) for _ in range(2)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [server.server_address[1] for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def test_cli_round_trip_and_validation():
    test = get_test("openports")
    args = ["--network", "192.0.2.0/24", "--ports", "22,80-81", "--services", "--timeout", "PT5S"]
    spec = test.cli_to_spec(args)
    assert spec == {
        "schema": 1,
        "network": "192.0.2.0/24",
        "ports": "22,80-81",
        "services": True,
        "timeout": "PT5S",
    }
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec
    assert plugins.spec_is_valid(test, spec) == {"valid": True}
    bad = plugins.spec_is_valid(test, {"network": "h", "ports": "22,99999"})
    assert bad["valid"] is False and "not a list of ports" in bad["error"]
    with pytest.raises(UsageError, match="Examples"):
        test.cli_to_spec(["--help"])


def test_nmapscan_directly_finds_the_open_ports(listening):
    require_program("nmap")
    closed = free_port()
    ports = ",".join(str(p) for p in [*listening, closed])
    spec = {"network": "127.0.0.1", "ports": ports, "timeout": "PT10S"}
    _, merged = measure("nmapscan", "openports", spec)
    assert merged == {
        "schema": 1,
        "result": {"127.0.0.1": {str(p): "open" for p in listening}},
        "succeeded": True,
    }
    text, html = formatted("openports", spec, merged)
    lines = text.splitlines()
    assert lines[0].strip() == "127.0.0.1" and lines[1] == " PORT | STATE   "
    assert lines[3:5] == [f"{p:>5} | open    " for p in sorted(listening)]  # nmap sorts them
    assert html.startswith("<h3>127.0.0.1</h3>") and f"<td>{listening[0]}</td>" in html


def test_openports_through_a_node_matches_nmap(node, listening):
    require_program("nmap")
    ports = ",".join(str(p) for p in listening)
    direct = subprocess.run(
        ["nmap", "-n", "-Pn", "-p", ports, "127.0.0.1"], capture_output=True, text=True, timeout=60
    )
    opened = {
        line.split("/")[0]
        for line in direct.stdout.splitlines()
        if "/tcp" in line and " open " in line
    }
    spec = {"network": "127.0.0.1", "ports": ports, "timeout": "PT60S", "services": True}
    task = {"test": {"type": "openports", "spec": spec}, "schedule": {}}
    run, text, html = measured(node, node.post("tasks", json=task), wait=90)
    assert run["state"] == "finished", run
    found = run["result-merged"]["result"]["127.0.0.1"]
    assert set(found) == opened == {str(p) for p in listening}
    assert all(info["state"] == "open" and info["name"] == "ssh" for info in found.values())
    assert tool_diags(run).startswith("nmap -n -Pn -oX -") and "-sV" in tool_diags(run)
    assert "PORT |STATE" in text and "<th>Extra Information</th>" in html
    cli = node.session.get(run["task-href"] + "/cli", timeout=10).json()
    assert node.get("tests/openports/spec", params={"args": json.dumps(cli[1:])}).json() == {
        "schema": 1,
        **spec,
    }
