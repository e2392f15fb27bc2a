"""Template validation and expansion against hand-written expectations from the pSConfig
documentation's examples (basic mesh, disjoint, advanced address options)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

from pscheduler.psconfig import expand, schema
from tests.psconfig.examples import BASIC_MESH, disjoint

A, B, C = "host-a.example.net", "host-b.example.net", "host-c.example.net"


def pairs(template, host=None):
    items, errors = expand.expand(template, host)
    assert errors == []
    return sorted(tuple(i["addresses"]) for i in items)


def test_basic_mesh_every_ordered_pair():
    assert schema.validate(BASIC_MESH) == []
    assert pairs(BASIC_MESH) == [(A, B), (A, C), (B, A), (B, C), (C, A), (C, B)]
    # each host schedules the pairs where it is address[0]
    assert pairs(BASIC_MESH, B) == [(B, A), (B, C)]
    item = expand.expand(BASIC_MESH, A)[0][0]
    assert item["body"]["test"]["spec"] == {"source": A, "dest": B, "duration": "PT30S"}
    assert item["body"]["schedule"] == {"repeat": "PT4H", "sliprand": True, "slip": "PT4H"}
    assert item["body"]["archives"][0]["archiver"] == "http"
    assert item["body"]["reference"] == {"display-task-name": "Example Throughput Tests"}
    assert item["lead"] == A and item["scheduled-by"] == A and item["flip"] is False


def test_disjoint_both_directions_unless_unidirectional():
    assert pairs(disjoint()) == [(A, B), (A, C), (B, A), (C, A)]
    assert pairs(disjoint(unidirectional=True)) == [(A, B), (A, C)]


def test_list_group_single_addresses():
    t = copy.deepcopy(BASIC_MESH)
    t["groups"]["g"] = {"type": "list", "addresses": [{"name": A}, {"name": C}]}
    t["tests"]["t"] = {"type": "rtt", "spec": {"dest": "{% address[0] %}"}}
    t["tasks"] = {"list": {"group": "g", "test": "t"}}
    assert pairs(t) == [(A,), (C,)]


def test_excludes_and_excludes_self():
    t = copy.deepcopy(BASIC_MESH)
    t["groups"]["example_group_mesh"]["excludes"] = [
        {"local-address": {"name": A}, "target-addresses": [{"name": B}, {"name": C}]}
    ]
    assert pairs(t) == [(B, A), (B, C), (C, A), (C, B)]
    # two addresses of one host never test each other (excludes-self: host, the default)
    t = copy.deepcopy(BASIC_MESH)
    t["hosts"] = {"h": {}}
    t["addresses"][A]["host"] = "h"
    t["addresses"][B]["host"] = "h"
    assert pairs(t) == [(A, C), (B, C), (C, A), (C, B)]
    t["groups"]["example_group_mesh"]["excludes-self"] = "address"
    assert len(pairs(t)) == 6


def test_disabled_address_host_and_task():
    t = copy.deepcopy(BASIC_MESH)
    t["addresses"][C]["disabled"] = True
    assert pairs(t) == [(A, B), (B, A)]
    t = copy.deepcopy(BASIC_MESH)
    t["hosts"] = {"hb": {"disabled": True}}
    t["addresses"][B]["host"] = "hb"
    assert pairs(t) == [(A, C), (C, A)]
    t["tasks"]["example_task_throughput"]["disabled"] = True
    assert pairs(t) == []


def test_no_agent_flips_to_the_other_end():
    t = copy.deepcopy(BASIC_MESH)
    t["addresses"][C]["no-agent"] = True
    t["tests"]["example_test_throughput"]["spec"]["reverse"] = "{% flip %}"
    items, _ = expand.expand(t)
    by_pair = {tuple(i["addresses"]): i for i in items}
    assert by_pair[(C, A)]["scheduled-by"] == A and by_pair[(C, A)]["flip"] is True
    assert by_pair[(C, A)]["body"]["test"]["spec"]["reverse"] is True
    assert by_pair[(A, C)]["body"]["test"]["spec"]["reverse"] is False
    # C schedules nothing; A now schedules (A,B), (A,C) and (C,A)
    assert pairs(t, C) == []
    assert pairs(t, A) == [(A, B), (A, C), (C, A)]


def test_labels_remote_addresses_pscheduler_and_bind_addresses():
    t = copy.deepcopy(BASIC_MESH)
    t["addresses"][A].update(
        {
            "pscheduler-address": "10.0.0.1:8443",
            "lead-bind-address": "10.0.0.1",
            "labels": {"v6": {"address": "2001:db8::a"}},
            "remote-addresses": {B: {"address": "192.0.2.1"}},
        }
    )
    t["addresses"][C]["labels"] = {"v6": {"address": "2001:db8::c"}}
    t["tests"]["example_test_throughput"]["spec"] = {
        "source": "{% address[0] %}",
        "dest": "{% address[1] %}",
        "source-node": "{% pscheduler_address[0] %}",
        "bind": "{% lead_bind_address[0] %}",
        "by": "{% scheduled_by_address %}",
    }
    items, _ = expand.expand(t, A)
    spec = {tuple(i["addresses"]): i["body"]["test"]["spec"] for i in items}
    assert spec[("192.0.2.1", B)]["source-node"] == "10.0.0.1:8443"
    assert spec[("192.0.2.1", B)]["bind"] == "10.0.0.1"
    assert spec[(A, C)]["by"] == A
    assert all(i["lead-bind-address"] == "10.0.0.1" for i in items)
    # a label picked by the group: A's and C's v6 addresses, matched to A by its parent
    t["groups"]["example_group_mesh"]["default-address-label"] = "v6"
    assert ("2001:db8::a", "2001:db8::c") in pairs(t, A)


def test_host_and_task_archives_merge_without_duplicates():
    t = copy.deepcopy(BASIC_MESH)
    t["archives"]["other"] = {"archiver": "syslog", "data": {"ident": "{% address[1] %}"}}
    t["hosts"] = {"ha": {"archives": ["other", "example_archive_http"]}}
    t["addresses"][A]["host"] = "ha"
    items, _ = expand.expand(t, A)
    archives = items[0]["body"]["archives"]
    assert [a["archiver"] for a in archives] == ["http", "syslog"]
    assert archives[1]["data"]["ident"] == items[0]["addresses"][1]
    assert [a["archiver"] for a in expand.expand(t, B)[0][0]["body"]["archives"]] == ["http"]


def test_tools_priority_schedule_fields_and_jq_variable():
    t = copy.deepcopy(BASIC_MESH)
    t["schedules"]["s"] = {"repeat": "PT10M", "slip": "PT5M", "max-runs": 3, "_meta": {"x": 1}}
    task = t["tasks"]["example_task_throughput"]
    task.update({"schedule": "s", "tools": ["iperf3"], "priority": 5})
    task["reference"] = {"name": "{% jq .addresses[0].address %}->{% address[1] %}"}
    body = expand.expand(t, A)[0][0]["body"]
    assert body["schedule"] == {"repeat": "PT10M", "slip": "PT5M", "max-runs": 3}
    assert body["tools"] == ["iperf3"] and body["priority"] == 5
    assert body["reference"] == {"name": f"{A}->{B}"}


def test_bad_variable_is_reported_per_tuple():
    t = copy.deepcopy(BASIC_MESH)
    t["tests"]["example_test_throughput"]["spec"]["dest"] = "{% address[5] %}"
    items, errors = expand.expand(t)
    assert items == [] and len(errors) == 6
    assert "address[5]" in errors[0] and "task=example_task_throughput" in errors[0]


def test_validation_errors_name_the_path():
    t = copy.deepcopy(BASIC_MESH)
    t["schedules"]["example_schedule_PT4H"]["repeat"] = "4 hours"
    t["groups"]["example_group_mesh"]["type"] = "star"
    t["tasks"]["example_task_throughput"]["colour"] = "red"
    errors = schema.validate(t)
    assert "schedules.example_schedule_PT4H.repeat: '4 hours' is not an ISO 8601 duration" in errors
    assert any(e.startswith("groups.example_group_mesh.type:") for e in errors)
    assert "tasks.example_task_throughput: unknown field 'colour'" in errors
    t = copy.deepcopy(BASIC_MESH)
    t["tasks"]["example_task_throughput"]["group"] = "nope"
    t["groups"]["example_group_mesh"]["addresses"].append({"name": "host-z"})
    assert schema.validate(t) == [
        "groups.example_group_mesh.addresses[3].name: no address named 'host-z'",
        "tasks.example_task_throughput.group: no group named 'nope'",
    ]
    assert schema.validate([]) == ["(template): a pSConfig template is a JSON object"]


def test_validate_command(tmp_path):
    path = tmp_path / "mesh.json"
    path.write_text(json.dumps(BASIC_MESH))
    cmd = [sys.executable, "-m", "pscheduler.server", "--state-dir", str(tmp_path)]
    out = subprocess.run(
        [*cmd, "psconfig", "validate", str(path), "--host", C],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    tasks = json.loads(out.stdout)
    assert sorted(tuple(t["addresses"]) for t in tasks) == [(C, A), (C, B)]
    assert tasks[0]["lead"] == C and tasks[0]["body"]["test"]["type"] == "throughput"
    bad = dict(BASIC_MESH, tests={"example_test_throughput": {"type": "throughput"}})
    path.write_text(json.dumps(bad))
    out = subprocess.run(
        [*cmd, "psconfig", "validate", str(path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1
    assert "tests.example_test_throughput: 'spec' is a required property" in out.stderr
