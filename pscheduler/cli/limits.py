"""``pscheduler validate-limits``: check a limit configuration file before installing it.

The limit system is optional for the client: it is imported only when this command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from pscheduler.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, err

DEFAULT_PATH = "/etc/pscheduler/limits.conf"


def register(subparsers) -> None:
    p = subparsers.add_parser("validate-limits", help="check a limit configuration file")
    p.add_argument("file", nargs="?", metavar="FILE|-", help="default: the system limits file")
    p.add_argument("--quiet", "-q", action="store_true", help="only the exit status")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    try:
        from pscheduler import limits
    except ImportError:
        err("limits support not installed")
        return EXIT_USAGE
    validate_file = getattr(limits, "validate_file", None)
    if validate_file is None:
        err("limits support not installed")
        return EXIT_USAGE
    path = args.file or getattr(limits, "DEFAULT_PATH", DEFAULT_PATH)
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
