"""The dhcp test end to end through a node: ``dhclient`` asks a real DHCP server (dnsmasq)
across a veth pair whose two ends live in two network namespaces this module creates and
removes.  The task reaches the client's namespace through the ``linuxnns`` context, so no
DHCP packet ever touches the host's own interfaces."""

from __future__ import annotations

import ipaddress
import subprocess
import uuid

import pytest

from tests.e2e.netns import in_namespace, ip, namespace
from tests.e2e.test_measurements import measured, tool_diags
from tests.helpers import require_program, wait_for

# A documentation network (RFC 5737), present only inside the server's namespace.
SERVER = "198.51.100.1"
POOL = ("198.51.100.50", "198.51.100.59")


def veth_between(server_ns: str, client_ns: str) -> tuple[str, str]:
    """A veth pair, one end in each namespace, both up; the server end has an address."""
    tag = uuid.uuid4().hex[:6]
    server_if, client_if = f"pds-{tag}", f"pdc-{tag}"
    assert ip("link", "add", server_if, "type", "veth", "peer", "name", client_if).returncode == 0
    assert ip("link", "set", server_if, "netns", server_ns).returncode == 0
    assert ip("link", "set", client_if, "netns", client_ns).returncode == 0
    assert ip("-n", server_ns, "addr", "add", f"{SERVER}/24", "dev", server_if).returncode == 0
    assert ip("-n", server_ns, "link", "set", server_if, "up").returncode == 0
    assert ip("-n", client_ns, "link", "set", client_if, "up").returncode == 0
    return server_if, client_if


@pytest.fixture(scope="module")
def dhcp_lan(tmp_path_factory):
    """(client namespace, client interface, dnsmasq's lease file) with dnsmasq serving."""
    require_program("dhclient")
    require_program("dnsmasq")
    leases = tmp_path_factory.mktemp("dnsmasq") / "leases"
    with namespace() as server_ns, namespace() as client_ns:
        server_if, client_if = veth_between(server_ns, client_ns)
        dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", server_ns, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
             "--port=0", f"--interface={server_if}", "--bind-interfaces",
             f"--dhcp-range={POOL[0]},{POOL[1]},2m", f"--dhcp-leasefile={leases}",
             f"--pid-file={leases}.pid"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            yield client_ns, client_if, leases
        finally:
            dnsmasq.terminate()
            dnsmasq.wait(timeout=10)


def dhcp_task(interface: str, namespace_name: str, timeout: str) -> dict:
    return {
        "schema": 2,
        "test": {"type": "dhcp", "spec": {"interface": interface, "timeout": timeout}},
        "contexts": in_namespace(namespace_name),
        "schedule": {},
    }


def dhclients_on(interface: str) -> list[str]:
    listed = subprocess.run(["pgrep", "-af", "dhclient"], capture_output=True, text=True)
    return [line for line in listed.stdout.splitlines() if line.endswith(interface)]


def test_dhcp_lease_from_a_real_server(node, dhcp_lan):
    client_ns, client_if, leases = dhcp_lan
    run, text, html = measured(
        node, node.post("tasks", json=dhcp_task(client_if, client_ns, "PT10S"))
    )
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    address = ipaddress.ip_address(merged["ip_address"])
    low, high = (ipaddress.ip_address(a) for a in POOL)
    assert low <= address <= high
    # The server handed that address to this client's interface (its MAC, its lease file).
    mac = ip("-n", client_ns, "link", "show", client_if).stdout.split("link/ether ")[1].split()[0]
    assert wait_for(lambda: f"{mac} {address}" in leases.read_text(), timeout=10)
    diags = tool_diags(run)
    assert diags.startswith("dhclient -1") and f"DHCPACK of {address}" in diags
    assert f"IP Address ... {address}" in text and str(address) in html
    assert 0 < float(merged["time"][2:-1]) < 10
    # The client left behind to renew the lease is stopped, and the interface untouched.
    assert wait_for(lambda: not dhclients_on(client_if), timeout=10), dhclients_on(client_if)
    assert "inet " not in ip("-n", client_ns, "addr", "show", client_if).stdout


def test_dhcp_without_a_server_fails_after_its_timeout(node):
    require_program("dhclient")
    with namespace() as server_ns, namespace() as client_ns:
        _, client_if = veth_between(server_ns, client_ns)  # nobody serves on this one
        run, _, _ = measured(node, node.post("tasks", json=dhcp_task(client_if, client_ns, "PT2S")))
    assert run["state"] == "failed", run
    assert "No DHCP lease" in run["result-full"][0]["error"]
