"""The rest of issue 19's catalogue through a node: fwmtu end to end on loopback, and the
tools whose programs are not packaged here answering can-run with the reason."""

from __future__ import annotations

import json

from tests.e2e.test_measurements import measured


def test_fwmtu_through_the_node(node):
    task = {"test": {"type": "mtu", "spec": {"dest": "127.0.0.1"}}, "tools": ["fwmtu"],
            "schedule": {}}  # fmt: skip
    posted = node.post("tasks", json=task)
    run, text, html = measured(node, posted)
    assert run["state"] == "finished", run
    mtu = run["result-merged"]["mtu"]
    assert run["result-merged"] == {"schema": 1, "mtu": mtu, "succeeded": True}
    assert mtu >= 1280 and text.strip() == f"MTU: {mtu}" and f"<td>{mtu}</td>" in html
    assert run["result-full"][0]["diags"].startswith("UDP to 127.0.0.1 port 1060")
    cli = node.session.get(posted.json() + "/cli", timeout=10).json()
    assert cli == ["mtu", "--dest", "127.0.0.1"]


def test_unpackaged_tools_say_why(node):
    survey = {
        "latencybg": {"dest": "127.0.0.1"},
        "s3throughput": {"url": "https://127.0.0.1", "bucket": "b", "access-key": "a",
                         "secret-key": "s"},
    }  # fmt: skip
    for test, spec in survey.items():
        answer = node.get(
            "tools", params={"test": json.dumps({"type": test, "spec": spec}), "api": "6"}
        ).json()
        verdicts = {e["tool"]["name"]: e["can-run"] for e in answer}
        assert verdicts, test
        for verdict in verdicts.values():
            assert verdict["can-run"] is True or "not packaged in Debian" in verdict["reasons"][0]


def test_snmpset_cli_round_trips_through_the_node(node):
    args = ["--dest", "127.0.0.1:1161", "--version", "2c", "--community", "private",
            "--oidargs", "1.3.6.1.2.1.1.6.0:s:Ann Arbor"]  # fmt: skip
    spec = node.get("tests/snmpset/spec", params={"args": json.dumps(args)}).json()
    assert spec["oidargs"] == [{"oid": "1.3.6.1.2.1.1.6.0", "type": "s", "value": "Ann Arbor"}]
    task = {"test": {"type": "snmpset", "spec": spec}, "schedule": {}}
    url = node.post("tasks", json=task).json()
    cli = node.session.get(url + "/cli", timeout=10).json()
    assert cli[0] == "snmpset" and "private" not in cli
    again = node.get("tests/snmpset/spec", params={"args": json.dumps(cli[1:])}).json()
    assert again == {k: v for k, v in spec.items() if k != "_community"}
