"""``pscheduler result``: show one run, or every run of a task.

Unlike the original, the exit code says how the runs went in every format: 1 when one
failed, was missed or never started.
"""

from __future__ import annotations

import argparse
import re

from pscheduler.cli.client import ServerError, with_query
from pscheduler.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_common,
    err,
    fail,
    make_client,
)
from pscheduler.cli.runs import FORMATS, render, write_output

_TASK_RE = re.compile(r"^https?://[^/]+/pscheduler/tasks/[0-9a-fA-F-]{36}/?$")
_RUN_RE = re.compile(r"^https?://[^/]+/pscheduler/tasks/[0-9a-fA-F-]{36}/runs/[0-9a-fA-F-]{36}/?$")


def register(subparsers) -> None:
    p = subparsers.add_parser("result", help="show the result of a run or of every run of a task")
    p.add_argument("url", metavar="RUN-URL|TASK-URL")
    p.add_argument(
        "--format",
        default="text",
        choices=sorted(FORMATS),
        metavar="FORMAT",
        help="text (default), html, json or none",
    )
    p.add_argument("--diags", action="store_true", help="add participant and limit diagnostics")
    p.add_argument("--archivings", action="store_true", help="add archiving attempts")
    p.add_argument("--full", action="store_true", help="--diags and --archivings")
    p.add_argument("--quiet", "-q", action="store_true", help="no header")
    p.add_argument("--output", metavar="PATH", help="write here instead (%%n: run number)")
    add_common(p, host=False)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    client = make_client(args)
    url = args.url.split("?")[0].rstrip("/")
    diags = args.diags or args.full
    archivings = args.archivings or args.full
    mime = FORMATS[args.format]
    if (diags or archivings) and mime not in ("text/plain", None):
        raise fail("--diags, --archivings and --full work only with --format text")
    listing = False
    if _RUN_RE.match(url):
        urls = [url]
    elif _TASK_RE.match(url):
        try:
            task = client.get_json(with_query(url, detail=True))
        except ServerError as exc:
            raise fail(f"Task not found: {exc.text}" if exc.status == 404 else exc.text) from None
        listing = True
        runs_href = (task.get("detail") or {}).get("runs-href") or url + "/runs"
        urls = client.get_json(runs_href)
        if mime not in ("text/plain", None) and len(urls) > 1:
            raise fail(f"Cannot retrieve multiple runs as {args.format}; use --format text")
        if not urls:
            print("No runs for this task.")
            return EXIT_OK
    else:
        raise fail(f"{args.url} is not a pScheduler task or run URL")

    failures = 0
    for number, run_url in enumerate(urls, start=1):
        try:
            run = client.get_json(run_url)
        except ServerError as exc:
            raise fail("Run not found." if exc.status == 404 else exc.text) from None
        text, outcome = render(
            client,
            run,
            args.format,
            diags=diags,
            archivings=archivings,
            with_header=not args.quiet and mime == "text/plain",
        )
        if listing and mime == "text/plain" and text is not None:
            text = (f"{run_url}\n" + text) + ("\n\n\n" if number < len(urls) else "")
        write_output(text, args.output, number)
        if not outcome.succeeded:
            failures += 1
            if mime != "text/plain" and outcome.reason:
                err(outcome.reason)
    return EXIT_FAILED if failures else EXIT_OK
