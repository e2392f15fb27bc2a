"""Small commands: ping, clock, cancel, plugins, env, version."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re

from pscheduler.cli.client import (
    ClientError,
    ServerError,
    Unreachable,
    api_url,
    local_host,
    split_host,
    with_query,
)
from pscheduler.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_common,
    err,
    fail,
    make_client,
    string_from_file,
)
from pscheduler.toolkit.iso8601 import duration_to_iso, parse_timestamp

_TASK_URL = re.compile(r"^https?://[^/]+/pscheduler/tasks/[0-9a-fA-F-]{36}$")
KINDS = ("tests", "tools", "archivers", "contexts")


def register(subparsers) -> None:
    p = subparsers.add_parser("ping", help="is pScheduler alive on a host?")
    p.add_argument("target", nargs="?", metavar="HOST[:PORT]")
    p.add_argument("--quiet", "-q", action="store_true")
    p.add_argument("-W", dest="timeout", type=float, default=5.0, help=argparse.SUPPRESS)
    add_common(p, host=False)
    p.set_defaults(func=ping, timeout=5.0)

    p = subparsers.add_parser("clock", help="compare the clocks of one or two hosts")
    p.add_argument("hosts", nargs="*", metavar="HOST[:PORT]")
    add_common(p, host=False)
    p.set_defaults(func=clock, timeout=15.0)

    p = subparsers.add_parser("cancel", help="stop the future runs of a task")
    p.add_argument("url", metavar="TASK-URL")
    p.add_argument("--key", metavar="KEY|@FILE", help="the task's key, if it was given one")
    add_common(p, host=False)
    p.set_defaults(func=cancel)

    p = subparsers.add_parser("plugins", help="list a host's tests, tools, archivers, contexts")
    p.add_argument("kind", metavar="tests|tools|archivers|contexts")
    p.add_argument("--verbose", "-v", action="store_true", help="versions, classes, maintainers")
    p.add_argument("--names", action="store_true", help="names only (for scripts, completion)")
    add_common(p)
    p.set_defaults(func=plugins)

    p = subparsers.add_parser("env", help="print the PSCHEDULER_* environment variables")
    p.set_defaults(func=env)

    p = subparsers.add_parser("version", help="versions of the installed pScheduler packages")
    p.add_argument("--host", metavar="HOST[:PORT]", help="also ask this host for its API level")
    add_common(p, host=False)
    p.set_defaults(func=version)


def ping(args: argparse.Namespace) -> int:
    client = make_client(args)
    host = args.target or local_host()
    try:
        split_host(host)
        client.ping(host, timeout=args.timeout)
    except ValueError as exc:
        raise fail(str(exc)) from None
    except Unreachable as exc:
        if not args.quiet:
            err(str(exc))
        return EXIT_USAGE
    if not args.quiet:
        print(f"{host}: pScheduler is alive")
    return EXIT_OK


def clock(args: argparse.Namespace) -> int:
    client = make_client(args)
    hosts = list(args.hosts)
    if len(hosts) > 2:
        raise fail("Give at most two hosts")
    if len(hosts) < 2:
        hosts.insert(0, local_host())
    times = []
    unreachable = False
    width = max(len(h) for h in hosts)
    for host in hosts:
        try:
            state = client.get_json(api_url(host, "clock"))
        except ClientError as exc:
            print(f"error      {host:{width}} {exc}")
            unreachable = True
            continue
        sync = "synchronized" if state.get("synchronized") else "unsynchronized"
        print(f"clock      {state.get('time')} {sync:14} {host}")
        if state.get("error"):
            print(f"error      {host} {state['error']}")
        try:
            times.append(parse_timestamp(state["time"]))
        except (KeyError, TypeError, ValueError):
            print(f"error      {host} bad time {state.get('time')!r}")
    if unreachable:
        return EXIT_USAGE
    if len(times) == 2:
        diff = abs((times[1] - times[0]).total_seconds())
        safe = diff <= 1.0
        print(f"difference {duration_to_iso(round(diff, 6))} {'safe' if safe else 'unsafe'}")
        return EXIT_OK if safe else EXIT_FAILED
    return EXIT_OK


def cancel(args: argparse.Namespace) -> int:
    client = make_client(args)
    url = args.url.strip().rstrip("/")
    if not _TASK_URL.match(url):
        raise fail(f"{args.url} is not a task URL (https://HOST/pscheduler/tasks/UUID)")
    key = string_from_file(args.key).strip() if args.key else None
    try:
        client.delete(with_query(url, key=key))
    except ServerError as exc:
        if exc.status == 404:
            raise fail("Task not found.") from None
        raise fail(exc.text) from None
    return EXIT_OK


def plugins(args: argparse.Namespace) -> int:
    client = make_client(args)
    kind = args.kind if args.kind.endswith("s") else args.kind + "s"
    if kind not in KINDS:
        raise fail(f"Unknown kind '{args.kind}'; expecting one of {', '.join(KINDS)}")
    items = client.get_json(with_query(api_url(args.host or local_host(), kind), expanded=True))
    items = sorted(items, key=lambda i: i.get("name", ""))
    if args.names:
        for item in items:
            print(item.get("name"))
        return EXIT_OK
    width = max((len(i.get("name", "")) for i in items), default=4)
    for item in items:
        print(f"{item.get('name', '?'):{width}}  {item.get('description', '')}".rstrip())
        if args.verbose:
            print(f"{'':{width}}  Version     {item.get('version', '?')}")
            if item.get("scheduling-class"):
                print(f"{'':{width}}  Class       {item['scheduling-class']}")
            if item.get("tests"):
                print(f"{'':{width}}  Tests       {', '.join(item['tests'])}")
            if "preference" in item:
                print(f"{'':{width}}  Preference  {item['preference']}")
            maint = item.get("maintainer") or {}
            if maint:
                who = maint.get("name", "")
                if maint.get("email"):
                    who += f" <{maint['email']}>"
                print(f"{'':{width}}  Maintainer  {who}")
            print()
    return EXIT_OK


def env(args: argparse.Namespace) -> int:
    for name in sorted(os.environ):
        if name.startswith("PSCHEDULER_"):
            print(f"{name}={os.environ[name]}")
    return EXIT_OK


def version(args: argparse.Namespace) -> int:
    rows = []
    for dist in importlib.metadata.distributions():
        name = dist.metadata.get("Name") or ""
        eps = [ep for ep in dist.entry_points if ep.group == "pscheduler"]
        if name.lower().startswith("pscheduler") or eps:
            rows.append((name, dist.version))
    for name, ver in sorted(set(rows)):
        print(f"{name:30} {ver}")
    if args.host:
        client = make_client(args)
        level = client.get_json(api_url(args.host, "api"))
        print(f"{'API level on ' + args.host:30} {level}")
    return EXIT_OK
