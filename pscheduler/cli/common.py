"""What every command shares: exit codes, messages, times and deltas, waiting with a countdown.

Exit codes (documented in ``pscheduler --help``):
  0  everything watched or checked succeeded
  1  a run failed, was missed, never started or did not complete; a check failed
  2  usage error, unreachable server, or a server that refused the request
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from pscheduler.cli.client import Client, ClientError, Unreachable
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

EXIT_CODES_HELP = """exit status:
  0  success: every run watched succeeded, every check passed
  1  a run failed, was missed, preempted or never started (the reason is printed),
     or a check failed (clock difference, troubleshoot, invalid limits)
  2  usage error, unreachable server, or a request the server refused (its message
     is printed as the server wrote it)
"""


class CommandError(Exception):
    """Stop the command with a message and an exit code (no traceback)."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_USAGE) -> CommandError:
    return CommandError(message, code)


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def add_common(parser: argparse.ArgumentParser, host: bool = True) -> None:
    """Options every REST command takes."""
    if host:
        parser.add_argument(
            "--host",
            metavar="HOST[:PORT]",
            help="pScheduler host (default $PSCHEDULER_LOCALHOST or 127.0.0.1:8443)",
        )
    parser.add_argument(
        "--verify", action="store_true", help="require a valid TLS certificate (default: any)"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECS", help="HTTP timeout (default 30)"
    )
    parser.add_argument("--debug", action="store_true", help="debug the CLI itself on stderr")


def make_client(args: argparse.Namespace) -> Client:
    debug = None
    if getattr(args, "debug", False):

        def debug(message: str) -> None:
            stamp = dt.datetime.now().strftime("%H:%M:%S.%f")[:-3]
            print(f"{stamp} {message}", file=sys.stderr, flush=True)

    return Client(
        verify=getattr(args, "verify", False),
        timeout=getattr(args, "timeout", 30.0) or 30.0,
        debug=debug,
    )


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_time(text: str) -> dt.datetime:
    """An absolute ISO 8601 time or a signed delta from now (``+PT5M``, ``-PT1H``, ``PT5M``)."""
    text = text.strip()
    sign = 1
    body = text
    if text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        body = text[1:]
    if body[:1].upper() == "P":
        try:
            return now() + sign * parse_duration(body)
        except ValueError:
            raise fail(f"Invalid time or duration '{text}'") from None
    try:
        value = parse_timestamp(text)
    except ValueError:
        raise fail(f"Invalid time '{text}' (ISO 8601 timestamp or +/-duration)") from None
    if value.tzinfo is None:
        value = value.astimezone()
    return value


def check_duration(text: str, what: str) -> str:
    try:
        parse_duration(text)
    except ValueError:
        raise fail(f"Invalid {what} '{text}': expecting an ISO 8601 duration like PT5M") from None
    return text


def iso(value: dt.datetime) -> str:
    return value.astimezone().replace(microsecond=0).isoformat()


def to_local(text: str | None) -> str:
    """A server timestamp shown in local time, or '?' when absent/bad."""
    if not text:
        return "?"
    try:
        return iso(parse_timestamp(text))
    except ValueError:
        return str(text)


def seconds_until(text: str | None) -> float:
    if not text:
        return 0.0
    try:
        return (parse_timestamp(text) - now()).total_seconds()
    except ValueError:
        return 0.0


def human_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 120:
        return f"{seconds} seconds" if seconds != 1 else "1 second"
    minutes, sec = divmod(seconds, 60)
    if minutes < 120:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def wait_until(
    when: dt.datetime, label: str, countdown: bool, stop: Callable[[], bool] | None = None
) -> None:
    """Sleep until ``when``; on a terminal show ``label`` with a live countdown."""
    while True:
        left = (when - now()).total_seconds()
        if left <= 0 or (stop is not None and stop()):
            break
        if countdown:
            sys.stdout.write(f"\r{label} {human_seconds(left)}   \b\b\b")
            sys.stdout.flush()
        time.sleep(min(1.0, left))
    if countdown:
        sys.stdout.write("\r\033[K")
        sys.stdout.flush()


def string_from_file(value: str) -> str:
    """``@path`` is the file's contents (``-`` for stdin); ``\\@`` escapes a literal @."""
    if value.startswith("\\@"):
        return value[1:]
    if value.startswith("@"):
        path = os.path.expanduser(value[1:])
        try:
            if path == "-":
                return sys.stdin.read()
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError as exc:
            raise fail(f"Unable to read {path}: {exc.strerror}") from None
    return value


def json_from_arg(value: str, what: str) -> Any:
    """A JSON option value, or ``@file`` holding it."""
    text = string_from_file(value)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise fail(f"Invalid JSON for {what}: {exc}") from None


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False)


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command, turning our errors into a message and an exit code."""
    try:
        return func(args)
    except CommandError as exc:
        if str(exc):
            err(str(exc))
        return exc.code
    except Unreachable as exc:
        err(str(exc))
        return EXIT_USAGE
    except ClientError as exc:
        err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("Interrupted.")
        return 130
    except BrokenPipeError:
        return EXIT_OK
