"""``includes``: other templates merged into one (files relative to the template, and URLs
served on loopback), the including template winning a name both define, nesting bounded,
loops and failed includes reported by name, remote includes kept from their last good copy."""

from __future__ import annotations

import copy
import json

import pytest

from pscheduler.psconfig import expand, includes, sources
from tests.psconfig.examples import BASIC_MESH
from tests.psconfig.served import TemplateServer

A, B, C = "host-a.example.net", "host-b.example.net", "host-c.example.net"
TEST = "example_test_throughput"
SCHEDULE = "example_schedule_PT4H"


def split(tmp_path) -> tuple[dict, dict, dict]:
    """BASIC_MESH cut in three: top (addresses, groups, tasks) includes ``parts/tests.json``,
    which includes ``schedules.json`` beside it (schedules and archives)."""
    top = {k: copy.deepcopy(BASIC_MESH[k]) for k in ("addresses", "groups", "tasks")}
    top["tests"] = {}
    top["includes"] = ["parts/tests.json"]
    tests = {"tests": copy.deepcopy(BASIC_MESH["tests"]), "includes": ["schedules.json"]}
    rest = {k: copy.deepcopy(BASIC_MESH[k]) for k in ("schedules", "archives")}
    return top, tests, rest


def write(tmp_path, top, tests, rest):
    (tmp_path / "parts").mkdir(exist_ok=True)
    (tmp_path / "parts" / "tests.json").write_text(json.dumps(tests))
    (tmp_path / "parts" / "schedules.json").write_text(json.dumps(rest))
    path = tmp_path / "mesh.json"
    path.write_text(json.dumps(top))
    return str(path)


def test_nested_file_includes_merge_into_the_template(tmp_path):
    path = write(tmp_path, *split(tmp_path))
    merged, warnings = sources.load(path)
    assert warnings == []
    assert "includes" not in merged
    assert merged["tests"] == BASIC_MESH["tests"]
    assert merged["schedules"] == BASIC_MESH["schedules"]
    items, errors = expand.expand(merged)
    assert errors == []
    assert sorted(tuple(i["addresses"]) for i in items) == [
        (A, B),
        (A, C),
        (B, A),
        (B, C),
        (C, A),
        (C, B),
    ]
    assert items[0]["body"]["schedule"]["repeat"] == "PT4H"
    assert items[0]["body"]["archives"][0]["archiver"] == "http"


def test_the_including_template_wins_a_name_both_define(tmp_path):
    top, tests, rest = split(tmp_path)
    top["tests"] = {TEST: {"type": "rtt", "spec": {"dest": "{% address[1] %}"}}}
    path = write(tmp_path, top, tests, rest)
    merged, warnings = sources.load(path)
    assert merged["tests"][TEST]["type"] == "rtt"
    assert warnings == [
        f"include {tmp_path / 'parts' / 'tests.json'}: tests.{TEST} already defined; kept the first"
    ]
    # an identical copy says nothing
    top["tests"] = copy.deepcopy(BASIC_MESH["tests"])
    assert sources.load(write(tmp_path, top, tests, rest))[1] == []


def test_loops_depth_and_failures_are_errors_naming_the_include(tmp_path):
    top, tests, rest = split(tmp_path)
    rest["includes"] = ["tests.json"]  # schedules.json -> tests.json -> schedules.json ...
    path = write(tmp_path, top, tests, rest)
    with pytest.raises(sources.SourceError, match=r"tests\.json: includes itself"):
        sources.load(path)
    top, tests, rest = split(tmp_path)
    tests["includes"] = ["missing.json"]
    path = write(tmp_path, top, tests, rest)
    with pytest.raises(sources.SourceError) as info:
        sources.load(path)
    assert f"include {tmp_path / 'parts' / 'missing.json'}:" in str(info.value)
    tests["includes"] = ["schedules.json"]
    rest["groups"] = {"bad": {"type": "star"}}
    path = write(tmp_path, top, tests, rest)
    with pytest.raises(sources.SourceError, match=r"schedules\.json: .*groups\.bad\.type: .star."):
        sources.load(path)
    # a chain deeper than MAX_DEPTH
    for i in range(includes.MAX_DEPTH + 1):
        (tmp_path / f"d{i}.json").write_text(json.dumps({"includes": [f"d{i + 1}.json"]}))
    (tmp_path / f"d{includes.MAX_DEPTH + 1}.json").write_text("{}")
    deep = dict(top, includes=["d0.json"], tests=BASIC_MESH["tests"])
    (tmp_path / "deep.json").write_text(json.dumps(deep))
    with pytest.raises(sources.SourceError, match=f"nested deeper than {includes.MAX_DEPTH}"):
        sources.load(str(tmp_path / "deep.json"))


def test_a_remote_include_keeps_its_last_good_copy(tmp_path):
    top, tests, rest = split(tmp_path)
    tests.pop("includes")
    tests.update(rest)
    served = TemplateServer(tests)
    try:
        top["includes"] = [served.url]
        path = tmp_path / "mesh.json"
        path.write_text(json.dumps(top))
        state = str(tmp_path / "state")
        merged, warnings = sources.load(str(path), state)
        assert warnings == [] and merged["tests"] == BASIC_MESH["tests"]
        served.broken = True
        merged, warnings = sources.load(str(path), state)
        assert merged["tests"] == BASIC_MESH["tests"]
        assert len(warnings) == 1 and warnings[0].startswith(f"include {served.url}: ")
        assert "using its last good copy" in warnings[0]
        # without a copy it is an error naming the include
        with pytest.raises(sources.SourceError, match=f"include {served.url}: .*503"):
            sources.load(str(path))
        # the grid's offline read uses the copy and never fetches
        fetches = served.fetches
        assert sources.load(str(path), state, offline=True)[0]["tests"] == BASIC_MESH["tests"]
        assert served.fetches == fetches
    finally:
        served.close()
