"""Helpers for a test's ``cli_to_spec`` / ``spec_to_cli``.

``SpecParser`` is argparse that raises ``UsageError`` instead of printing and exiting, so
``--help`` text and option errors reach the user through ``GET /tests/<t>/spec`` as a 400.
"""

from __future__ import annotations

import argparse
from typing import Any

from pscheduler.hookspecs import UsageError


class SpecParser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("add_help", True)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"Unusable arguments: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message or self.format_help())

    def print_help(self, file: Any = None) -> None:
        raise UsageError(self.format_help())

    def parse_spec_args(self, args: list) -> argparse.Namespace:
        if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
            raise UsageError("Invalid JSON for this operation")
        return self.parse_args([str(a) for a in args])


def spec_to_cli_args(spec: dict, fields: dict[str, str]) -> list[str]:
    """Emit ``--field value`` for strings/numbers, ``--field``/``--no-field`` for booleans,
    one ``--field v`` per element for lists (``fields`` maps spec key to 'string', 'bool' or
    'list')."""
    args: list[str] = []
    for key, kind in fields.items():
        if key not in spec or spec[key] is None:
            continue
        value = spec[key]
        if kind == "bool":
            args.append(f"--{key}" if value else f"--no-{key}")
        elif kind == "list":
            for item in value:
                args.extend([f"--{key}", str(item)])
        else:
            args.extend([f"--{key}", str(value)])
    return args
