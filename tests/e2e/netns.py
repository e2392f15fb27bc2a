"""Network namespaces the tests make and remove themselves (needs root and ``ip``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid

import pytest

from tests.helpers import require_program


def ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@contextlib.contextmanager
def namespace(addresses: tuple[str, ...] = (), loopback_up: bool = True, mtu: int | None = None):
    """A fresh namespace whose loopback carries ``addresses`` (each /32) and no others from
    the host; skips the test where namespaces cannot be made."""
    require_program("ip")
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root")
    name = f"pst-{uuid.uuid4().hex[:8]}"
    made = ip("netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {made.stderr.strip()}")
    try:
        if mtu is not None:
            assert ip("-n", name, "link", "set", "lo", "mtu", str(mtu)).returncode == 0
        if loopback_up:
            assert ip("-n", name, "link", "set", "lo", "up").returncode == 0
        host_addresses = ip("-o", "addr").stdout
        for address in addresses:
            assert address not in host_addresses  # the address is the namespace's alone
            assert ip("-n", name, "addr", "add", f"{address}/32", "dev", "lo").returncode == 0
        yield name
    finally:
        ip("netns", "del", name)


def in_namespace(name: str) -> dict:
    """A task's ``contexts`` running its single participant's tool inside ``name``."""
    return {"schema": 1, "contexts": [[{"context": "linuxnns", "data": {"namespace": name}}]]}
