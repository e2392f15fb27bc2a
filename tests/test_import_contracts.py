"""The layering holds: import-linter's contracts in setup.cfg (domain without Flask, plugins
through hookspecs and toolkit only, API and daemons apart, CLI as a pure client, no cycles)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run(
        [str(lint), "--config", str(ROOT / "setup.cfg")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_top_level_stays_small():
    """Modules go into subpackages; the package root keeps only the shared basics."""
    modules = [p.name for p in (ROOT / "pscheduler").glob("*.py")]
    assert len(modules) <= 12, sorted(modules)
