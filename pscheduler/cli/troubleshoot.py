"""``pscheduler troubleshoot``: a narrated health check of one host, or of a pair.

For each host: reachable, API level, clock, plugin listings, daemon heartbeats and limits
(``/status``), optionally counters (``--stats``), then a real one-second ``idle`` run with
``bitbucket`` archivings (skipped by ``--quick``).  For a pair: the clock difference.
The first failed check ends it with exit 1.
"""

from __future__ import annotations

import argparse
import time

from pscheduler.cli.client import Client, ClientError, Unreachable, api_url, local_host, with_query
from pscheduler.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_common,
    make_client,
)
from pscheduler.cli.metrics import gather
from pscheduler.cli.oneshot import post_task, run_to_completion
from pscheduler.cli.runs import failure_details, outcome
from pscheduler.toolkit.iso8601 import parse_timestamp


class CheckFailed(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def register(subparsers) -> None:
    p = subparsers.add_parser("troubleshoot", help="check that pScheduler works on hosts")
    p.add_argument("other", nargs="?", metavar="HOSTZ", help="a second host to check with")
    p.add_argument("--quick", action="store_true", help="skip the test runs")
    p.add_argument("--stats", action="store_true", help="show counters from /stat")
    add_common(p)
    p.set_defaults(func=command)


def check(label: str, func):
    print(f"  {label}...", end=" ", flush=True)
    try:
        note = func()
    except CheckFailed as exc:
        print("Failed.")
        print("    " + str(exc).replace("\n", "\n    "))
        raise
    except ClientError as exc:
        print("Failed.")
        print("    " + str(exc).replace("\n", "\n    "))
        raise CheckFailed(
            str(exc), EXIT_USAGE if isinstance(exc, Unreachable) else EXIT_FAILED
        ) from None
    print(f"{note}" if note else "OK.")


def check_host(client: Client, host: str, args: argparse.Namespace) -> dict:
    facts: dict = {}
    print(f"Performing basic troubleshooting of {host}:\n")
    check("Looking for pScheduler", lambda: client.ping(host, timeout=10) and None)

    def api():
        level = client.get_json(api_url(host, "api"))
        facts["api"] = level
        return f"OK (API level {level})."

    check("Checking API level", api)

    def clock():
        state = client.get_json(api_url(host, "clock"))
        facts["clock"] = state
        if state.get("error"):
            return f"Warning: {state['error']}"
        if not state.get("synchronized"):
            return "Warning: the clock is not synchronized (runs with other hosts may fail)."
        return None

    check("Checking clock", clock)
    for kind in ("archivers", "contexts", "tests", "tools"):

        def listing(kind=kind):
            items = client.get_json(api_url(host, kind))
            if not isinstance(items, list):
                raise CheckFailed(f"Bad {kind} listing")
            return f"OK ({len(items)})."

        check(f"Exercising {kind}", listing)

    def status():
        state = client.get_json(api_url(host, "status"))
        services = state.get("services") or {}
        problems = []
        for name in ("ticker", "scheduler", "runner", "archiver"):
            if name not in services:
                problems.append(f"{name}: no heartbeat recorded")
            elif (services[name] or {}).get("overdue"):
                problems.append(f"{name}: overdue by {services[name]['overdue']}; not running?")
        limits = state.get("limits") or {}
        if limits.get("ok") is False:
            problems.append(f"limits: {limits.get('error', 'not usable')}")
        if problems:
            raise CheckFailed("\n".join(problems))
        runs = state.get("runs") or {}
        return (
            f"OK (last scheduled {runs.get('last-scheduled') or 'never'}, "
            f"last finished {runs.get('last-finished') or 'never'})."
        )

    check("Checking services and limits", status)
    if args.stats:
        metrics = gather(client, host)
        print("  Statistics:")
        print(
            f"    Archiving backlog {metrics['archiving']['backlog']}, "
            f"upcoming {metrics['archiving']['upcoming']}"
        )
        print(
            f"    HTTP queue backlog {metrics['http_queue']['backlog']}, "
            f"length {metrics['http_queue']['length']}"
        )
        for state, count in metrics["runs"].items():
            print(f"    Runs {state:10} {count}")
    if not args.quick:
        check("Idle test", lambda: idle_test(client, host))
    print()
    return facts


def idle_test(client: Client, host: str) -> str:
    archivers = client.get_json(api_url(host, "archivers"))
    archives = []
    if any(str(a).rstrip("/").endswith("/bitbucket") for a in archivers or []):
        archives = [{"archiver": "bitbucket", "data": {}}, {"archiver": "bitbucket", "data": {}}]
    task = {
        "test": {"type": "idle", "spec": {"schema": 1, "duration": "PT1S"}},
        "schedule": {"slip": "PT5M"},
        "archives": archives,
    }
    task_url = post_task(client, host, task)
    run = run_to_completion(client, task_url)
    result = outcome(run)
    if not result.succeeded:
        raise CheckFailed(f"{result.reason}\n{failure_details(run)}\n{run.get('href', '')}")
    if archives:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            run = client.get_json(with_query(run["href"]))
            done = [a for a in run.get("archivings") or [] if a.get("completed")]
            if len(done) >= len(archives):
                if not all(a.get("archived") for a in done):
                    raise CheckFailed(f"An archiving failed; see {run['href']}")
                return "OK (run and archivings succeeded)."
            time.sleep(0.5)
        raise CheckFailed(f"Archivings did not finish within 20 s; see {run['href']}")
    return "OK."


def command(args: argparse.Namespace) -> int:
    client = make_client(args)
    hosts = [args.host or local_host()] + ([args.other] if args.other else [])
    facts = []
    try:
        for host in hosts:
            facts.append(check_host(client, host, args))
        if len(hosts) == 2:
            print(f"Checking {hosts[0]} and {hosts[1]} together:\n")

            def pair_clock():
                a = client.get_json(api_url(hosts[0], "clock"))
                z = client.get_json(api_url(hosts[1], "clock"))
                diff = abs(
                    (parse_timestamp(a["time"]) - parse_timestamp(z["time"])).total_seconds()
                )
                if diff > 1.0:
                    raise CheckFailed(f"Clocks differ by {diff:.3f} s (more than 1 s)")
                return f"OK ({diff:.3f} s apart)."

            check("Comparing clocks", pair_clock)
            print()
    except CheckFailed as exc:
        print("\npScheduler is not functioning normally.")
        return exc.code
    print("pScheduler appears to be functioning normally.")
    return EXIT_OK
