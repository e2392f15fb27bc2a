"""The ``pscheduler`` command (filled by the CLI work)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("pscheduler: the command-line client is not built yet", file=sys.stderr)
    return 2
