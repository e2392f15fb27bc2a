"""``pscheduler validate-limits``: check a limit configuration file before installing it."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from pscheduler.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, err
from pscheduler.config import default_limits_path
from pscheduler.limits import validate_file


def register(subparsers) -> None:
    p = subparsers.add_parser("validate-limits", help="check a limit configuration file")
    p.add_argument(
        "file",
        nargs="?",
        metavar="FILE|-",
        help="default: the node's limits file (as pscheduler-server finds it)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="only the exit status")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    path = args.file or default_limits_path()
    temp = None
    if path == "-":
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write(sys.stdin.read())
            temp = path = f.name
    try:
        if not os.path.exists(path):
            err(f"{path}: no such file")
            return EXIT_USAGE
        ok, message = validate_file(path)
    finally:
        if temp:
            os.unlink(temp)
    if ok:
        if not args.quiet:
            print(message or "Limit configuration is valid.")
        return EXIT_OK
    if not args.quiet:
        print(message or "Limit configuration is invalid.")
    return EXIT_FAILED
