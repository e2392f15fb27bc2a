"""Address classes (``address-classes`` used as ``{"class": ...}`` in groups), against
expectations written by hand from the pSConfig documentation's description of data sources
(current-config, requesting-agent) and filters (tag, netmask, ip-version, host, jq,
address-class, and/or/not, exclude-filter).  Pure functions: no node, no network (every
address is an IP literal, so nothing is resolved)."""

from __future__ import annotations

import copy

from pscheduler.psconfig import classes, expand, schema
from tests.psconfig.examples import CLASSES

V4A, V4B, V4C, V6A = "10.0.1.1", "10.0.1.2", "10.0.2.1", "2001:db8::1"
ME = "192.0.2.7"


def template() -> dict:
    """Four addresses: two in 10.0.1.0/24 (hosts h1 with tag site-x, h2 without an agent),
    one in 10.0.2.0/24 tagged LATENCY (upper case), one IPv6 tagged latency."""
    rtt = {"type": "rtt", "spec": {"source": "{% address[0] %}", "dest": "{% address[1] %}"}}
    return {
        "addresses": {
            "v4a": {"address": V4A, "host": "h1", "tags": ["latency"]},
            "v4b": {"address": V4B, "host": "h2"},
            "v4c": {"address": V4C, "tags": ["LATENCY"]},
            "v6a": {"address": V6A, "tags": ["latency"]},
        },
        "hosts": {"h1": {"tags": ["site-x"]}, "h2": {"no-agent": True}},
        "address-classes": {
            "all": {"data-source": {"type": "current-config"}},
            "lan": {
                "data-source": {"type": "current-config"},
                "match-filter": {"type": "netmask", "netmask": "10.0.1.0/24"},
            },
            "v6": {
                "data-source": {"type": "current-config"},
                "match-filter": {"type": "ip-version", "ip-version": 6},
            },
            "lat": {
                "data-source": {"type": "current-config"},
                "match-filter": {"type": "tag", "tag": "latency"},
            },
            "lat-off-lan": {
                "data-source": {"type": "current-config"},
                "match-filter": {
                    "type": "and",
                    "filters": [
                        {"type": "address-class", "class": "lat"},
                        {"type": "not", "filter": {"type": "address-class", "class": "lan"}},
                    ],
                },
            },
            "site-x-or-v6": {
                "data-source": {"type": "current-config"},
                "match-filter": {
                    "type": "or",
                    "filters": [
                        {"type": "tag", "tag": "site-x"},
                        {"type": "ip-version", "ip-version": 6},
                    ],
                },
            },
            "agentless": {
                "data-source": {"type": "current-config"},
                "match-filter": {"type": "host", "no-agent": True},
            },
            "v4-off-lan": {
                "data-source": {"type": "current-config"},
                "match-filter": {"type": "ip-version", "ip-version": 4},
                "exclude-filter": {"type": "netmask", "netmask": "10.0.1.0/24"},
            },
            "jq": {
                "data-source": {"type": "current-config"},
                "match-filter": {"type": "jq", "jq": '.address | startswith("10.0.2.")'},
            },
            "me": {
                "data-source": {"type": "requesting-agent"},
                "match-filter": {"type": "netmask", "netmask": "192.0.2.0/24"},
            },
        },
        "groups": {
            "mesh": {"type": "mesh", "addresses": [{"class": "lat"}]},
            "to-lan": {
                "type": "disjoint",
                "a-addresses": [{"class": "me"}],
                "b-addresses": [{"class": "lan"}],
            },
        },
        "tests": {"rtt": rtt},
        "tasks": {"mesh": {"group": "mesh", "test": "rtt"}},
    }


def pairs(t: dict, host=None, requesting=None) -> list[tuple]:
    items, errors = expand.expand(t, host, requesting)
    assert errors == []
    return sorted(tuple(i["addresses"]) for i in items)


def test_documentation_example_classes_by_tag():
    assert schema.validate(CLASSES) == []
    items, errors = expand.expand(CLASSES)
    assert errors == []
    by_task = {}
    for item in items:
        by_task.setdefault(item["task"], []).append(tuple(item["addresses"]))
    thr = [f"host-{h}-thr.example.net" for h in "abc"]
    lat = [f"host-{h}-lat.example.net" for h in "abc"]
    # every ordered pair of the three throughput addresses, and of the three latency ones
    assert sorted(by_task["task-throughput"]) == [
        (thr[0], thr[1]),
        (thr[0], thr[2]),
        (thr[1], thr[0]),
        (thr[1], thr[2]),
        (thr[2], thr[0]),
        (thr[2], thr[1]),
    ]
    assert sorted(by_task["task-trace"]) == [
        (lat[0], lat[1]),
        (lat[0], lat[2]),
        (lat[1], lat[0]),
        (lat[1], lat[2]),
        (lat[2], lat[0]),
        (lat[2], lat[1]),
    ]
    # host-b-lat schedules its two trace tasks and no throughput task
    mine = expand.expand(CLASSES, lat[1])[0]
    assert sorted(tuple(i["addresses"]) for i in mine) == [(lat[1], lat[0]), (lat[1], lat[2])]


def test_each_filter_selects_by_hand():
    t = template()
    want = {
        "all": ["v4a", "v4b", "v4c", "v6a"],
        "lan": ["v4a", "v4b"],
        "v6": ["v6a"],
        "lat": ["v4a", "v4c", "v6a"],  # tags compare case-insensitively
        "lat-off-lan": ["v4c", "v6a"],
        "site-x-or-v6": ["v4a", "v6a"],  # site-x is a tag of v4a's host
        "agentless": ["v4b"],
        "v4-off-lan": ["v4c"],
        "jq": ["v4c"],
        "me": [],  # no requesting agent
    }
    assert schema.validate(t) == []
    assert {name: classes.members(t, name, None) for name in want} == want


def test_mesh_of_a_class_and_class_excludes():
    t = template()
    assert pairs(t) == sorted(
        [(V4A, V4C), (V4A, V6A), (V4C, V4A), (V4C, V6A), (V6A, V4A), (V6A, V4C)]
    )
    t["groups"]["mesh"] = {
        "type": "mesh",
        "addresses": [{"class": "all"}],
        "excludes": [{"local-address": {"class": "v6"}, "target-addresses": [{"class": "lan"}]}],
    }
    got = pairs(t)
    assert len(got) == 12 - 2
    assert (V6A, V4A) not in got and (V6A, V4B) not in got and (V4A, V6A) in got
    # a disabled selector counts for nothing
    t["groups"]["mesh"]["addresses"].append({"class": "v6", "disabled": True})
    assert len(pairs(t)) == 10


def test_requesting_agent_class_is_the_reading_host():
    t = template()
    t["tasks"] = {"to-lan": {"group": "to-lan", "test": "rtt"}}
    me = {ME: {"address": ME}}
    assert pairs(t) == []  # nobody is asking: the class is empty
    assert pairs(t, requesting=me) == [(V4A, ME), (V4B, ME), (ME, V4A), (ME, V4B)]
    # The agent on ME schedules its own two tasks, plus the one towards it from v4b, whose host
    # has no agent (so the task flips to ME).
    items, errors = expand.expand(t, ME, me)
    assert errors == []
    got = sorted((tuple(i["addresses"]), i["scheduled-by"], i["flip"]) for i in items)
    assert got == [
        ((V4B, ME), ME, True),
        ((ME, V4A), ME, False),
        ((ME, V4B), ME, False),
    ]
    # an agent outside 192.0.2.0/24 is not in the class
    assert pairs(t, requesting={"198.51.100.1": {"address": "198.51.100.1"}}) == []


def test_class_errors_name_the_path():
    t = template()
    t["groups"]["mesh"]["addresses"] = [{"class": "nope"}, {"class": "lat", "label": "x"}]
    t["address-classes"]["lan"]["match-filter"] = {"type": "netmask", "netmask": "10.0.1/99"}
    t["address-classes"]["loop-a"] = {
        "data-source": {"type": "current-config"},
        "match-filter": {"type": "address-class", "class": "loop-b"},
    }
    t["address-classes"]["loop-b"] = {
        "data-source": {"type": "current-config"},
        "exclude-filter": {"type": "not", "filter": {"type": "address-class", "class": "loop-a"}},
    }
    errors = schema.validate(t)
    assert "groups.mesh.addresses[0].class: no address class named 'nope'" in errors
    assert "groups.mesh.addresses[1].label: a class selector has no label" in errors
    assert "address-classes.lan.match-filter.netmask: '10.0.1/99' is not an IP network" in errors
    assert "address-classes.loop-a: refers to itself (loop-a -> loop-b -> loop-a)" in errors
    bad = copy.deepcopy(template())
    bad["address-classes"]["lan"]["match-filter"] = {"type": "colour", "colour": "red"}
    bad["address-classes"]["v6"]["data-source"] = {"type": "lookup-service"}
    errors = schema.validate(bad)
    assert any(e.startswith("address-classes.lan.match-filter.type:") for e in errors)
    assert any(e.startswith("address-classes.v6.data-source.type:") for e in errors)


def test_the_agent_is_its_own_requesting_agent():
    """The agent's host name is the requesting agent unless psconfig-agent.json names it."""
    from pscheduler.psconfig import agent, sources

    assert agent._requesting(None, ME) == {ME: {"address": ME}}
    named = {"me": {"address": ME, "tags": ["x"]}, "bad": {"tags": []}}
    assert agent._requesting(named, "ignored") == {"me": {"address": ME, "tags": ["x"]}}
    t = template()
    t["tasks"] = {"to-lan": {"group": "to-lan", "test": "rtt"}}
    loaded = [sources.Loaded("mesh.json", t)]
    want, errors = agent.desired(loaded, {ME}, agent._requesting(None, ME))
    assert errors == []
    assert sorted(tuple(i["addresses"]) for i in want.values()) == [
        (V4B, ME),
        (ME, V4A),
        (ME, V4B),
    ]
