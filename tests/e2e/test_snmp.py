"""snmpget, snmpgetbgm and snmpset end to end through a node, against a real snmpd this
module starts on a loopback port with its own configuration (a read-only and a read-write
community, a v3 user) and stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess

import pytest

from tests.e2e.test_measurements import measured, tool_diags
from tests.helpers import require_program, wait_for
from tests.tasks.util import runs

SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
MISSING = "1.3.6.1.2.1.1.9.9.9"
LOCATION = "cat20 test lab"
V3 = {
    "version": "3",
    "security-name": "pstester",
    "security-level": "authPriv",
    "auth-protocol": "SHA",
    "_auth-key": "authpassword1",
    "priv-protocol": "AES",
    "_priv-key": "privpassword1",
}


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def direct_get(port: int, *oids: str, community: str = "ropublic") -> subprocess.CompletedProcess:
    argv = ["snmpget", "-v2c", "-c", community, "-On", "-t", "1", "-r", "0"]
    return subprocess.run(
        argv + [f"127.0.0.1:{port}", *oids],
        capture_output=True,
        text=True,
        timeout=10,
        env={**os.environ, "MIBS": ""},
    )


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    require_program("snmpd")
    require_program("snmpget")
    home = tmp_path_factory.mktemp("snmpd")
    port = _free_udp_port()
    (home / "snmpd.conf").write_text(
        f"agentAddress udp:127.0.0.1:{port}\n"
        "rocommunity ropublic 127.0.0.1\n"
        "rwcommunity rwprivate 127.0.0.1\n"
        f"sysLocation {LOCATION}\n"
        f"createUser {V3['security-name']} SHA {V3['_auth-key']} AES {V3['_priv-key']}\n"
        f"rouser {V3['security-name']} authpriv\n"
    )
    (home / "persist").mkdir()
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(home / "persist")}
    argv = ["snmpd", "-f", "-C", "-c", str(home / "snmpd.conf"), "-Lf", str(home / "log")]
    proc = subprocess.Popen(
        argv + ["-I", "-smux"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(
            lambda: direct_get(port, SYS_LOCATION).returncode == 0 or proc.poll() is not None,
            timeout=20,
            what="snmpd to answer",
        )
        assert proc.poll() is None, (home / "log").read_text()
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def task(test: str, spec: dict, tool: str) -> dict:
    return {"test": {"type": test, "spec": {"schema": 1, **spec}}, "tools": [tool],
            "schedule": {}}  # fmt: skip


@pytest.mark.parametrize("tool", ["net-snmp", "pysnmp"])
def test_snmpget_matches_the_agent(node, agent, tool):
    spec = {"dest": agent, "version": "2c", "_community": "ropublic", "polls": 1,
            "oid": [SYS_LOCATION, SYS_UPTIME, MISSING]}  # fmt: skip
    posted = node.post("tasks", json=task("snmpget", spec, tool))
    run, text, html = measured(node, posted)
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True, merged
    location, uptime, missing = merged["data"]
    assert location["value"] == LOCATION and location["type"].endswith("String")
    assert uptime["type"] == "TimeTicks" and uptime["value"] > 0
    assert "type" not in missing and "NoSuch" in missing["value"].replace(" ", "")
    # The agent's own answer, asked directly, agrees.
    direct = direct_get(int(agent.rsplit(":", 1)[1]), SYS_LOCATION)
    assert f'"{LOCATION}"' in direct.stdout
    lines = text.splitlines()
    assert lines[0].startswith(f"OID: {SYS_LOCATION} (") and lines[1] == f"    {LOCATION}"
    assert lines[-1] == f"Elapsed Time: {merged['time']}"
    assert f"Value: {LOCATION}" in html
    # The community is a secret: neither the stored task nor the diagnostics show it.
    url = posted.json()
    assert "ropublic" not in node.session.get(url, timeout=10).text
    assert "ropublic" not in tool_diags(run)
    cli = node.session.get(url + "/cli", timeout=10).json()
    assert cli[0] == "snmpget" and "--oid" in cli and "ropublic" not in cli


def test_snmpget_v3_auth_priv(node, agent):
    spec = {"dest": agent, **V3, "polls": 1, "oid": [SYS_LOCATION]}
    run, _, _ = measured(node, node.post("tasks", json=task("snmpget", spec, "net-snmp")))
    assert run["result-merged"]["data"][0]["value"] == LOCATION, run
    bad = {**spec, "_auth-key": "wrongpassword"}
    run, _, _ = measured(node, node.post("tasks", json=task("snmpget", bad, "net-snmp")))
    assert run["result-merged"]["succeeded"] is False
    assert run["result-merged"]["error"].startswith("snmpget returned an error")


def test_snmpset_changes_the_agent_and_a_read_only_community_cannot(node, agent):
    value = f"set by pscheduler {os.getpid()}"
    spec = {"dest": agent, "version": "2c", "_community": "rwprivate",
            "oidargs": [{"oid": SYS_CONTACT, "type": "s", "value": value}]}  # fmt: skip
    run, text, _ = measured(node, node.post("tasks", json=task("snmpset", spec, "net-snmp-set")))
    assert run["result-merged"]["succeeded"] is True, run
    assert run["result-merged"]["data"][0] == {
        **run["result-merged"]["data"][0],
        "type": "OctetString",
        "value": value,
    }
    assert f'"{value}"' in direct_get(int(agent.rsplit(":", 1)[1]), SYS_CONTACT).stdout
    assert text.startswith(f"OID: {SYS_CONTACT} (OctetString)\n    {value}")
    denied = {**spec, "_community": "ropublic"}
    posted = node.post("tasks", json=task("snmpset", denied, "net-snmp-set"))
    run, _, _ = measured(node, posted)
    assert run["result-merged"]["succeeded"] is False
    assert "noAccess" in run["result-merged"]["error"], run


def test_snmpgetbgm_polls_become_runs(node, agent):
    spec = {"dest": agent, "version": "2c", "_community": "ropublic", "polls": 2, "period": 1,
            "oid": [SYS_UPTIME]}  # fmt: skip
    url = node.post("tasks", json=task("snmpgetbgm", spec, "pysnmp")).json()
    container = node.session.get(
        url + "/runs/first", params={"wait-local": "", "wait": "30"}, timeout=45
    ).json()
    assert container["result"]["succeeded"] is True, container
    series = container["result"]["result"]["data"][0]
    assert [s["seq_num"] for s in series] == [0, 1]
    assert series[1]["delta"] == series[1]["value"] - series[0]["value"] > 0

    def records():
        found = [r for r in runs(node, url) if r["result-merged"] and r["href"] != container["href"]]  # fmt: skip
        return found if len(found) >= 2 else None

    found = wait_for(records, timeout=20, what="a run per poll")
    values = sorted(r["result-merged"]["data"][0]["value"] for r in found)
    assert values == [s["value"] for s in series]


def test_bad_specs_are_400s(node):
    mixed = {"dest": "x", "version": "3", "_community": "c", "polls": 1, "oid": ["1.3.6"]}
    r = node.post("tasks", json=task("snmpget", mixed, "net-snmp"))
    assert r.status_code == 400 and "community applies only" in r.text, r.text
    r = node.get("tests/snmpset/spec", params={"args": json.dumps(["--oidargs", "1.3.6"])})
    assert r.status_code == 400 and "OID:TYPE:VALUE" in r.text
