"""The snmptrap archiver against a real snmptrapd on a loopback port: directly, and as a
task's archive on a node."""

from __future__ import annotations

import subprocess

import pytest
from pscheduler_plugins.archivers.snmptrap import archive, data_is_valid, trap_argv

from pscheduler import plugins
from tests.helpers import free_port, require_program, wait_for

TRAP = "1.3.6.1.4.1.99999.1"
VALUE = "1.3.6.1.4.1.99999.2"


@pytest.fixture
def trapd(tmp_path):
    """A snmptrapd logging every trap to a file; yields (port, log path)."""
    require_program("snmptrapd")
    require_program("snmptrap")
    port = free_port()
    log = tmp_path / "traps.log"
    (tmp_path / "snmptrapd.conf").write_text("disableAuthorization yes\n")
    proc = subprocess.Popen(
        ["snmptrapd", "-f", "-Lf", str(log), "-C", "-c", str(tmp_path / "snmptrapd.conf"),
         "-m", "", "-n", f"udp:127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # snmptrapd writes its version once it listens.
        wait_for(
            lambda: log.exists() and "NET-SNMP version" in log.read_text(), 10, what="snmptrapd"
        )
        yield port, log
    finally:
        proc.terminate()
        proc.wait(5)


def trap_line(log, timeout: float = 30.0) -> str:
    def found():
        # Without MIBs snmptrapd writes OIDs as iso.3.6...; make them numeric again.
        lines = log.read_text().replace("iso.", "1.").splitlines()
        return next((line for line in lines if TRAP in line), None)

    return wait_for(found, timeout, interval=0.1, what="the trap")


def test_validation_and_argv():
    v2 = {"dest": "h", "_community": "public", "trap-oid": TRAP}
    assert data_is_valid(v2) == {"valid": True}
    v3 = {
        "dest": "[::1]:1162",
        "security-name": "u",
        "security-level": "authPriv",
        "trap-oid": TRAP,
    }
    assert data_is_valid(v3)["error"] == (
        "Security level authPriv needs auth-protocol, _auth-key, priv-protocol, _priv-key"
    )
    v3 |= {
        "auth-protocol": "SHA",
        "_auth-key": "a" * 8,
        "priv-protocol": "AES256",
        "_priv-key": "p" * 8,
    }
    assert data_is_valid(v3) == {"valid": True}
    assert trap_argv(v3) == [
        "snmptrap", "-v", "3", "-u", "u", "-l", "authPriv", "-a", "SHA", "-A", "aaaaaaaa",
        "-x", "AES256", "-X", "pppppppp", "udp6:[::1]:1162", "", TRAP,
    ]  # fmt: skip
    assert (
        data_is_valid({"dest": "h", "_community": "c", "trap-oid": "not an oid"})["valid"] is False
    )
    assert plugins.registry().archivers["snmptrap"].enumeration["name"] == "snmptrap"


def test_archive_sends_the_trap(trapd):
    port, log = trapd
    data = {
        "dest": f"127.0.0.1:{port}", "_community": "public", "trap-oid": TRAP,
        "trap-varbinds": [{"oid": VALUE, "value": "hello"}, {"oid": VALUE + ".2", "value": 42}],
    }  # fmt: skip
    assert archive({"data": data, "result": {}}) == {"succeeded": True}
    line = trap_line(log)
    assert f'{VALUE} = STRING: "hello"' in line
    assert f"{VALUE}.2 = INTEGER: 42" in line


def test_archive_of_a_task_on_a_node(node, trapd):
    port, log = trapd
    data = {"dest": f"127.0.0.1:{port}", "_community": "public", "trap-oid": TRAP,
            "trap-varbinds": [{"oid": VALUE, "value": "from a node"}]}  # fmt: skip
    task = {
        "test": {"type": "idle", "spec": {"duration": "PT1S"}},
        "archives": [{"archiver": "snmptrap", "data": data}],
        "schedule": {},
    }
    r = node.post("tasks", json=task)
    assert r.status_code == 200, r.text
    assert 'STRING: "from a node"' in trap_line(log, timeout=60)


def test_unreachable_name_fails_with_snmptraps_reason():
    require_program("snmptrap")
    data = {"dest": "nonesuch.invalid", "_community": "public", "trap-oid": TRAP}
    outcome = archive({"data": data, "result": {}})
    assert outcome["succeeded"] is False and outcome["error"].startswith("Failed to archive: ")
