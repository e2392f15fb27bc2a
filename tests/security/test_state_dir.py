"""Hole 7: the node's files in its state dir are private to its user."""

from __future__ import annotations

import stat
from pathlib import Path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_log_tls_and_metrics_files_are_private(node):
    base = Path(node.state_dir)
    assert _mode(base / "node.log") == 0o600
    for folder in ("tls", "prometheus"):
        assert _mode(base / folder) == 0o700, folder
    for name in ("cert.pem", "key.pem"):
        assert _mode(base / "tls" / name) == 0o600, name
