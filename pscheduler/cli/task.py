"""``pscheduler task``: build a task from the command line, post it to the lead, watch it.

The test's own options are turned into a spec by the assist server
(``/tests/<type>/spec?args=``), so this module knows no test; ``task rtt --help`` shows the
test plugin's help as the server returns it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from typing import Any

from pscheduler.cli.client import (
    Client,
    ServerError,
    Unreachable,
    api_url,
    assist_host,
    split_host,
    with_query,
)
from pscheduler.cli.common import (
    EXIT_OK,
    add_common,
    check_duration,
    dump_json,
    fail,
    iso,
    json_from_arg,
    make_client,
    parse_time,
    string_from_file,
)
from pscheduler.cli.watch import add_output_options, narrating, watch

EPILOG = """Everything after TEST-TYPE goes to the test; `pscheduler task TEST --help` shows
the test's own options (fetched from the assist server).

examples:
  pscheduler task idle --duration PT5S
  pscheduler task --repeat PT1M --max-runs 3 noop --data '{"a": 1}'
  pscheduler task --start PT5M --url idle --duration PT10S
  pscheduler task --export idle --duration PT1S > idle.json
  pscheduler task --import idle.json -
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "task",
        help="create a task and watch its runs",
        description="Create a task, then watch its runs until there are no more.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("task")
    g.add_argument("--archive", action="append", default=[], metavar="JSON|@FILE")
    g.add_argument("--keep-after-archive", metavar="DURATION", help="drop runs after archiving")
    g.add_argument("--context", metavar="JSON|@FILE", help="per-participant contexts")
    g.add_argument("--key", metavar="STRING|@FILE", help="key needed later by cancel --key")
    g.add_argument("--reference", metavar="JSON|@FILE", help="JSON kept with the task")
    g.add_argument("--tool", action="append", default=[], help="tool to use (repeatable)")
    g.add_argument("--priority", type=int, help="priority (default $PSCHEDULER_PRIORITY)")
    g.add_argument("--debug-pscheduler", action="store_true", help="server-side debug")
    s = p.add_argument_group("scheduling")
    s.add_argument("--repeat", metavar="DURATION", help="repeat every DURATION")
    s.add_argument("--repeat-cron", metavar="'m h dom mon dow'", help="repeat on a cron pattern")
    s.add_argument("--max-runs", type=int, metavar="N", help="stop after N runs")
    s.add_argument(
        "--slip", metavar="DURATION", help="allowed slip (default $PSCHEDULER_SLIP, PT5M)"
    )
    s.add_argument("--sliprand", action="store_true", help="random start within the slip")
    s.add_argument("--start", metavar="TIME", help="ISO 8601 time or delta from now (PT5M)")
    s.add_argument("--until", metavar="TIME", help="ISO 8601 time or delta from now")
    o = p.add_argument_group("other")
    o.add_argument("--assist", metavar="HOST[:PORT]", help="server that converts the test options")
    o.add_argument("--lead", metavar="HOST[:PORT]", help="lead to post to when the test names none")
    o.add_argument("--export", action="store_true", help="print the task JSON and exit")
    o.add_argument("--export-format", choices=("task", "batch"), default="task")
    o.add_argument("--import", dest="import_", metavar="FILE|-", help="start from this task JSON")
    o.add_argument("--url", action="store_true", help="post the task, print its URL, exit")
    add_output_options(p)
    add_common(p, host=False)
    p.add_argument("test", nargs="?", metavar="TEST-TYPE", help="test type ('-' with --import)")
    p.add_argument("test_args", nargs=argparse.REMAINDER, metavar="TEST-OPTIONS")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    client = make_client(args)
    talk = narrating(args) and not args.url and not args.export
    assist = assist_host(args.assist)
    try:
        split_host(assist)
    except ValueError as exc:
        raise fail(str(exc)) from None

    task = imported_task(args.import_) if args.import_ else {}
    test_type = args.test
    if test_type in (None, "-"):
        test_type = (task.get("test") or {}).get("type")
        if not test_type:
            raise fail("No test type given (and nothing imported); see pscheduler task --help")

    build_task(copy.deepcopy(task), args)  # bad options fail here, before any request
    try:
        client.ping(assist, timeout=min(args.timeout, 10))
    except Unreachable as exc:
        raise fail(f"Assist server {assist} is unavailable: {exc}") from None

    test_args = [string_from_file(a) for a in args.test_args]
    if test_args or not task or args.test not in (None, "-"):
        spec = test_spec(client, assist, test_type, test_args, base=None)
        if spec is None:
            return EXIT_OK  # help was shown
        if task and args.test in (None, "-") and test_args:
            spec = {**((task.get("test") or {}).get("spec") or {}), **spec}
        task["test"] = {"type": test_type, "spec": spec}
    build_task(task, args)

    if args.export:
        if args.export_format == "batch":
            task.pop("schedule", None)
            print(
                dump_json({"schema": 1, "jobs": [{"label": f"Exported {test_type}", "task": task}]})
            )
        else:
            print(dump_json(task))
        return EXIT_OK

    lead = find_lead(client, assist, args, task)
    if talk:
        print(f"Submitting task to {lead}...", flush=True)
    try:
        client.ping(lead, timeout=min(args.timeout, 10))
    except Unreachable as exc:
        raise fail(f"Lead {lead} is unavailable: {exc}") from None
    try:
        task_url = client.post_json(api_url(lead, "tasks"), task)
    except ServerError as exc:
        raise fail(
            f"Failed to post task: {exc.text}\n(Try `pscheduler troubleshoot --host {lead}`.)"
            if exc.status >= 500
            else f"Failed to post task: {exc.text}"
        ) from None
    if not isinstance(task_url, str):
        raise fail(f"Unexpected reply from {lead}: {task_url!r}")
    if args.url:
        print(task_url)
        return EXIT_OK
    if talk:
        print(f"Task URL:\n{task_url}")
        try:
            posted = client.get_json(with_query(task_url, detail=True))
            if posted.get("tool"):
                print(f"Running with tool '{posted['tool']}'")
            if args.debug and (posted.get("detail") or {}).get("diags"):
                print("Diagnostics:\n" + posted["detail"]["diags"])
        except ServerError:
            pass
        print("Fetching first run...", flush=True)
    return watch(client, task_url, args, first=True)


def imported_task(source: str) -> dict:
    text = sys.stdin.read() if source == "-" else string_from_file("@" + source)
    try:
        task = json.loads(text)
    except ValueError as exc:
        raise fail(f"Invalid JSON in {source}: {exc}") from None
    if not isinstance(task, dict) or not isinstance(task.get("test", {}), dict):
        raise fail(f"{source}: not a task specification (expecting an object with 'test')")
    return task


def test_spec(client: Client, assist: str, test_type: str, args: list[str], base) -> Any:
    """The spec the assist server builds from the test's options; None after --help."""
    url = with_query(api_url(assist, f"tests/{test_type}/spec"), args=args)
    try:
        return client.get_json(url, timeout=30)
    except ServerError as exc:
        if exc.status == 400 and ("--help" in args or "-h" in args):
            print(exc.text)
            return None
        if exc.status == 404:
            raise fail(exc.text or f"Could not find test {test_type} on {assist}") from None
        if exc.status >= 500:
            raise fail(f"Internal error on {assist}: {exc.text}") from None
        raise fail(exc.text) from None


def build_task(task: dict, args: argparse.Namespace) -> None:
    """Fill in the task options and schedule; raise the schema numbers the options need."""
    schema = task.get("schema", 1)
    schedule = dict(task.get("schedule") or {})
    if args.repeat:
        schedule["repeat"] = check_duration(args.repeat, "--repeat")
    if args.repeat_cron:
        if len(args.repeat_cron.split()) != 5:
            raise fail(
                "--repeat-cron needs five fields: 'minute hour day-of-month month day-of-week'"
            )
        schedule["repeat-cron"] = args.repeat_cron
        schedule["schema"] = max(2, schedule.get("schema", 1))
    if args.max_runs is not None:
        if args.max_runs < 1:
            raise fail("--max-runs must be at least 1")
        schedule["max-runs"] = args.max_runs
    slip = args.slip or (
        None if (args.import_ or args.export) else os.environ.get("PSCHEDULER_SLIP", "PT5M")
    )
    if slip:
        schedule["slip"] = check_duration(slip, "--slip")
    if args.sliprand:
        schedule["sliprand"] = True
    start = None
    if args.start:
        start = parse_time(args.start)
        schedule["start"] = iso(start)
    if args.until:
        until = parse_time(args.until)
        if start and until <= start:
            raise fail("--until must be after --start")
        schedule["until"] = iso(until)
    task["schedule"] = schedule
    if args.archive:
        task["archives"] = task.get("archives", []) + [
            json_from_arg(a, "--archive") for a in args.archive
        ]
    if args.reference:
        task["reference"] = json_from_arg(args.reference, "--reference")
    if args.key:
        task["_key"] = string_from_file(args.key).strip()
    if args.tool:
        task["tools"] = args.tool
    priority = args.priority
    if priority is None and os.environ.get("PSCHEDULER_PRIORITY"):
        try:
            priority = int(os.environ["PSCHEDULER_PRIORITY"])
        except ValueError:
            raise fail("$PSCHEDULER_PRIORITY must be an integer") from None
    if priority is not None:
        task["priority"] = priority
        schema = max(schema, 3)
    if args.context:
        task["contexts"] = json_from_arg(args.context, "--context")
        schema = max(schema, 2)
    if args.debug_pscheduler:
        task["debug"] = True
        schema = max(schema, 4)
    if args.keep_after_archive:
        task["keep-after-archive"] = check_duration(args.keep_after_archive, "--keep-after-archive")
        schema = max(schema, 5)
    if schema > 1:
        task["schema"] = schema


def find_lead(client: Client, assist: str, args: argparse.Namespace, task: dict) -> str:
    """participants[0] from the assist server; a null lead means the assist server itself."""
    test = task["test"]
    url = with_query(api_url(assist, f"tests/{test['type']}/participants"), spec=test["spec"])
    try:
        reply = client.get_json(url)
    except ServerError as exc:
        raise fail(f"Unable to find the lead: {exc.text}") from None
    participants = reply.get("participants") if isinstance(reply, dict) else None
    if not participants:
        raise fail(f"Unable to find the lead: {assist} returned no participants")
    lead = participants[0] or args.lead or assist
    try:
        split_host(lead)
    except ValueError as exc:
        raise fail(f"Bad lead '{lead}': {exc}") from None
    return lead
