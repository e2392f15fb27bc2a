"""A third-party package adds a test type with no change to the core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pscheduler-example-plugin"


@pytest.fixture
def example_installed(tmp_path):
    """The example package pip-installed into a directory of its own, which only the node
    started by the test has on its path: the shared venv, and so every other test's node
    (tests may run in parallel), never sees its plugins."""
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--target", str(target), str(EXAMPLE)], check=True, timeout=180)
    assert any(target.glob("pscheduler_example_plugin-*.dist-info/entry_points.txt"))
    return {"PYTHONPATH": str(target)}


def test_example_plugin_appears_after_install(example_installed, make_node):
    node = make_node(env=example_installed)
    tests = {e["name"] for e in node.get("tests", params={"expanded": ""}).json()}
    assert "hello" in tests
    assert node.get("tests/hello").json()["description"].startswith("Say hello")
    tools = node.get("tests/hello/tools").json()
    assert [u.rsplit("/", 1)[1] for u in tools] == ["wave"]
    assert node.get("tests/hello/spec", params={"args": '["--name", "Ada"]'}).json() == {
        "schema": 1,
        "name": "Ada",
    }
