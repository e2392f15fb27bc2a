"""The archiver tests send to listeners on loopback and to local sockets: the archive
destination policy refuses those by default, so every test here allows them."""

from __future__ import annotations

import pytest

from tests.helpers import ALLOW_LOOPBACK_SINKS


@pytest.fixture(autouse=True)
def allow_loopback_sinks(monkeypatch):
    for name, value in ALLOW_LOOPBACK_SINKS.items():
        monkeypatch.setenv(name, value)
