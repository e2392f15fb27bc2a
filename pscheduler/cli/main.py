"""The ``pscheduler`` command: one argparse parser with a subcommand per module.

Every subcommand speaks only the REST API (spec/api.md), so it works against any
pScheduler host; none imports a server module.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

from pscheduler.cli.common import EXIT_CODES_HELP, EXIT_USAGE, run_command

# Modules that each add one or a few subcommands with register(subparsers).
COMMAND_MODULES = (
    "task",
    "watch",
    "result",
    "schedule",
    "monitor",
    "plot",
    "simple",
    "metrics",
    "batch",
    "troubleshoot",
    "limits",
    "completion",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pscheduler",
        description="Command-line client for pScheduler hosts (REST API level 6).",
        epilog=EXIT_CODES_HELP
        + "\nenvironment: PSCHEDULER_LOCALHOST, PSCHEDULER_ASSIST, PSCHEDULER_SLIP, "
        "PSCHEDULER_PRIORITY\n"
        "Run `pscheduler COMMAND --help` for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"pscheduler.cli.{name}").register(subparsers)
    return parser


_NEGATIVE_DELTA = re.compile(r"^-P(\d|T\d)", re.IGNORECASE)


def _protect_negative_deltas(argv: list[str]) -> list[str]:
    """``schedule -PT1H`` is a time, not an option: a leading space keeps argparse from
    reading it as one (parse_time strips it)."""
    if not argv or argv[0] not in ("schedule", "plot-schedule"):
        return argv
    return [" " + a if _NEGATIVE_DELTA.match(a) else a for a in argv]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "help":
        argv = [*argv[1:], "--help"] if len(argv) > 1 else ["--help"]
    if not argv:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(_protect_negative_deltas(argv))
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
