"""Templates after the pSConfig documentation's examples (hosts renamed to example.net)."""

from __future__ import annotations

import copy

BASIC_MESH = {
    "addresses": {
        "host-a.example.net": {"address": "host-a.example.net"},
        "host-b.example.net": {"address": "host-b.example.net"},
        "host-c.example.net": {"address": "host-c.example.net"},
    },
    "groups": {
        "example_group_mesh": {
            "type": "mesh",
            "addresses": [
                {"name": "host-a.example.net"},
                {"name": "host-b.example.net"},
                {"name": "host-c.example.net"},
            ],
        }
    },
    "tests": {
        "example_test_throughput": {
            "type": "throughput",
            "spec": {"source": "{% address[0] %}", "dest": "{% address[1] %}", "duration": "PT30S"},
        }
    },
    "schedules": {"example_schedule_PT4H": {"repeat": "PT4H", "sliprand": True, "slip": "PT4H"}},
    "archives": {
        "example_archive_http": {
            "archiver": "http",
            "data": {"schema": 2, "_url": "https://archive.example.net/logstash", "op": "put"},
        }
    },
    "tasks": {
        "example_task_throughput": {
            "group": "example_group_mesh",
            "test": "example_test_throughput",
            "schedule": "example_schedule_PT4H",
            "archives": ["example_archive_http"],
            "reference": {"display-task-name": "Example Throughput Tests"},
            "_meta": {"display-name": "Example Throughput Tests"},
        }
    },
}


def disjoint(unidirectional: bool = False) -> dict:
    t = copy.deepcopy(BASIC_MESH)
    t["groups"] = {
        "example_group_disjoint": {
            "type": "disjoint",
            "a-addresses": [{"name": "host-a.example.net"}],
            "b-addresses": [{"name": "host-b.example.net"}, {"name": "host-c.example.net"}],
        }
    }
    if unidirectional:
        t["groups"]["example_group_disjoint"]["unidirectional"] = True
    t["tasks"]["example_task_throughput"]["group"] = "example_group_disjoint"
    return t


def _thr_lat(host: str) -> dict:
    return {
        f"{host}-thr": {"address": f"{host}-thr.example.net", "tags": ["throughput"]},
        f"{host}-lat": {"address": f"{host}-lat.example.net", "tags": ["latency"]},
    }


# After the documentation's address-classes example (example-5-classes): two classes picked
# by tag from the template's own addresses, each the only member of a mesh group.
CLASSES = {
    "archives": {
        "central": {
            "archiver": "http",
            "data": {"_url": "https://archive.example.net/logstash", "op": "put"},
        }
    },
    "addresses": {**_thr_lat("host-a"), **_thr_lat("host-b"), **_thr_lat("host-c")},
    "address-classes": {
        "throughput": {
            "data-source": {"type": "current-config"},
            "match-filter": {"type": "tag", "tag": "throughput"},
        },
        "latency": {
            "data-source": {"type": "current-config"},
            "match-filter": {"type": "tag", "tag": "latency"},
        },
    },
    "groups": {
        "group-throughput": {"type": "mesh", "addresses": [{"class": "throughput"}]},
        "group-latency": {"type": "mesh", "addresses": [{"class": "latency"}]},
    },
    "tests": {
        "throughput": {
            "type": "throughput",
            "spec": {"source": "{% address[0] %}", "dest": "{% address[1] %}", "duration": "PT30S"},
        },
        "trace": {
            "type": "trace",
            "spec": {"source": "{% address[0] %}", "dest": "{% address[1] %}"},
        },
    },
    "schedules": {
        "PT4H": {"repeat": "PT4H", "sliprand": True, "slip": "PT4H"},
        "PT10M": {"repeat": "PT10M", "sliprand": True, "slip": "PT10M"},
    },
    "tasks": {
        "task-throughput": {
            "group": "group-throughput",
            "test": "throughput",
            "schedule": "PT4H",
            "archives": ["central"],
        },
        "task-trace": {
            "group": "group-latency",
            "test": "trace",
            "schedule": "PT10M",
            "archives": ["central"],
        },
    },
}
