"""``pscheduler-server psconfig [validate FILE|URL [--host A] | remote add|list|delete URL | stats]``.

With no action it is the pSConfig agent (the supervisor starts it when a template is
configured).  ``validate`` prints the template's errors, or its expanded tasks as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from pscheduler.config import Config
from pscheduler.db import Database
from pscheduler.db.embedded import DBNAME
from pscheduler.psconfig import expand, sources, status


def add_parser(sub) -> None:
    cmd = sub.add_parser("psconfig", help="pSConfig templates: the agent, validate, remotes, stats")
    actions = cmd.add_subparsers(dest="psconfig_action", metavar="ACTION")
    actions.add_parser("agent", help="run the agent (the default)")
    validate = actions.add_parser("validate", help="check a template and print its tasks")
    validate.add_argument("source", help="template file or http(s) URL")
    validate.add_argument("--host", action="append", help="only tasks this address schedules")
    remote = actions.add_parser("remote", help="remote template URLs the agent follows")
    remote_actions = remote.add_subparsers(dest="remote_action", metavar="ACTION", required=True)
    add = remote_actions.add_parser("add", help="follow a template URL")
    add.add_argument("url")
    add.add_argument(
        "--configure-archives", action="store_true", help="use the template's archives"
    )
    remote_actions.add_parser("list", help="list template URLs")
    delete = remote_actions.add_parser("delete", help="stop following a template URL")
    delete.add_argument("url")
    actions.add_parser("stats", help="the agent's last cycle (from the node's database)")


def _validate(args: argparse.Namespace) -> int:
    try:
        template, warnings = sources.load(args.source)
    except sources.SourceError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    hosts = set(args.host) if args.host else None
    # The named hosts are the "requesting agent" of requesting-agent address classes.
    requesting = {h: {"address": h} for h in sorted(hosts)} if hosts else None
    items, errors = expand.expand(template, hosts, requesting)
    for error in errors:
        print(error, file=sys.stderr)
    print(
        json.dumps(
            [{k: v for k, v in i.items() if k != "scheduled-by-own"} for i in items], indent=2
        )
    )
    return 1 if errors else 0


def _remote(args: argparse.Namespace, config: Config) -> int:
    items = sources.remotes(config.config_dir)
    if args.remote_action == "list":
        print(json.dumps(items, indent=2))
        return 0
    if not args.url.startswith(("http://", "https://")):
        print(f"pscheduler-server psconfig: {args.url!r} is not an http(s) URL", file=sys.stderr)
        return 2
    if args.remote_action == "add":
        items = [r for r in items if r["url"] != args.url]
        items.append({"url": args.url, "configure-archives": args.configure_archives})
    else:
        if not any(r["url"] == args.url for r in items):
            print(f"pscheduler-server psconfig: no remote {args.url}", file=sys.stderr)
            return 1
        items = [r for r in items if r["url"] != args.url]
    sources.save_remotes(config.config_dir, items)
    return 0


def _stats(config: Config) -> int:
    pgdata = os.path.join(config.state_dir, "pgdata")
    dsn = config.dsn or f"postgresql://postgres:@/{DBNAME}?host={pgdata}"
    db = Database(dsn, "pscheduler-psconfig-stats")
    try:
        print(json.dumps(status.read(db) or {"state": "the agent has not run"}, indent=2))
    finally:
        db.close()
    return 0


def run(args: argparse.Namespace, config: Config) -> int:
    action = args.psconfig_action or "agent"
    if action == "validate":
        return _validate(args)
    if action == "remote":
        return _remote(args, config)
    if action == "stats":
        return _stats(config)
    if not config.dsn:
        print(
            "pscheduler-server psconfig: the agent needs --dsn or PSCHEDULER_DSN", file=sys.stderr
        )
        return 2
    # Late, like the supervisor's children: only this command's process loads the daemon.
    from pscheduler_daemons import psconfig as daemon

    return daemon.main(config)
