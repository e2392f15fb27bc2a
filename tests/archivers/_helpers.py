"""Shared by the archiver tests: the record an archiver gets, and the skip-or-fail rule for
destinations that must exist on the machine (RabbitMQ, PostgreSQL)."""

from __future__ import annotations

import os
import socket

import pytest

from pscheduler import plugins

RESULT = {"succeeded": True, "duration": "PT1S", "note": "ünïcode"}


def record(data: dict, result=None, attempts: int = 0) -> dict:
    """An archiver input record (plugins.md §3.3) carrying ``result``."""
    return {
        "data": data,
        "task-href": "https://127.0.0.1/pscheduler/tasks/t1",
        "run-href": "https://127.0.0.1/pscheduler/tasks/t1/runs/r1",
        "result": RESULT if result is None else result,
        "attempts": attempts,
        "last-attempt": None,
    }


def archiver(name: str):
    """The archiver plugin as the registry (entry points) provides it."""
    return plugins.registry().archivers[name]


def require(what: str, available: bool) -> None:
    """Skip when ``what`` is missing, unless PSCHEDULER_REQUIRE_TOOLS=1 (CI): then fail."""
    if available:
        return
    if os.environ.get("PSCHEDULER_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{what} is required (PSCHEDULER_REQUIRE_TOOLS=1) but not available")
    pytest.skip(f"{what} not available")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def closed_port(family: int = socket.AF_INET, host: str = "127.0.0.1") -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
