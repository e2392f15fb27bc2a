"""disk-to-disk with curl-d2d: a file served on loopback copied through a node."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import threading

import pytest

from pscheduler import plugins
from pscheduler.toolkit.iso8601 import parse_duration
from tests.e2e.test_measurements import measured
from tests.helpers import require_program
from tests.plugins.plugin_helpers import formatted, get_test, get_tool

SIZE = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    (root / "blob.dat").write_bytes(os.urandom(SIZE))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root / "blob.dat"
    server.shutdown()
    server.server_close()


def test_cli_round_trip_and_can_run():
    test = get_test("disk-to-disk")
    spec = test.cli_to_spec(["--source", "http://h/f", "--dest", "/tmp/x", "--cleanup"])
    assert spec == {"schema": 1, "source": "http://h/f", "dest": "/tmp/x", "cleanup": False}
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec
    assert plugins.spec_is_valid(test, {"source": "a"})["valid"] is False
    assert test.participants(spec) == {"participants": [None], "null-reason": "No host specified"}
    verdict = get_tool("curl-d2d").can_run(
        {"type": "disk-to-disk", "spec": {"source": "gopher://h/", "dest": "-"}}
    )
    assert verdict["can-run"] is False and len(verdict["reasons"]) >= 2
    text, html = formatted(
        "disk-to-disk",
        spec,
        {"succeeded": True, "time": "PT1S", "bytes-sent": 2e6, "throughput": 1.6e7},
    )
    assert text.splitlines() == [
        "Duration ......... PT1S",
        "Sent ............. 2.00 MB",
        "Throughput ....... 16.00 Mb/sec",
    ]
    assert "<tr><td>Sent</td><td>2.00 MB</td></tr>" in html


@pytest.mark.parametrize("keep", [False, True])
def test_copy_through_a_node(node, served, tmp_path, keep):
    require_program("curl")
    base, blob = served
    dest = tmp_path / "copy.dat"
    spec = {"source": f"{base}/blob.dat", "dest": str(dest), "timeout": "PT20S"}
    if keep:
        spec["cleanup"] = False
    task = {"test": {"type": "disk-to-disk", "spec": spec}, "schedule": {}}
    run, text, _ = measured(node, node.post("tasks", json=task))
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True and merged["bytes-sent"] == SIZE
    seconds = parse_duration(merged["time"]).total_seconds()
    assert merged["throughput"] == pytest.approx(SIZE * 8 / seconds, rel=0.2)
    assert dest.exists() is keep
    if keep:
        assert (
            hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(blob.read_bytes()).digest()
        )
    assert text.splitlines()[1] == "Sent ............. 3.15 MB"


def test_missing_file_fails_with_curls_reason(node, served, tmp_path):
    require_program("curl")
    base, _ = served
    spec = {"source": f"{base}/nonesuch", "dest": str(tmp_path / "x"), "timeout": "PT10S"}
    run, _, _ = measured(
        node,
        node.post("tasks", json={"test": {"type": "disk-to-disk", "spec": spec}, "schedule": {}}),
    )
    assert run["state"] == "failed", run
    assert "404" in run["result-full"][0]["error"]
