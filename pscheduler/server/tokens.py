"""``pscheduler-server token create NAME [--admin] | list | revoke NAME``.

Works on the node's database: ``--dsn``/``PSCHEDULER_DSN``, or else the embedded cluster in
the state dir (attached to if the node runs, started and stopped again if it does not).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

from pscheduler.config import Config
from pscheduler.db import Database, migrate
from pscheduler.db.embedded import EmbeddedPostgres
from pscheduler.node import tokens
from pscheduler.toolkit.iso8601 import format_timestamp


def add_parser(sub) -> None:
    token = sub.add_parser("token", help="manage API tokens (shown once, stored hashed)")
    actions = token.add_subparsers(dest="token_action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a token and print it once")
    create.add_argument("name")
    create.add_argument(
        "--admin", action="store_true", help="may pause/resume the node and cancel any task"
    )
    actions.add_parser("list", help="list token names and rights")
    revoke = actions.add_parser("revoke", help="delete a token")
    revoke.add_argument("name")


@contextlib.contextmanager
def _database(config: Config) -> Iterator[Database]:
    embedded = None
    dsn = config.dsn
    if not dsn:
        embedded = EmbeddedPostgres(config.state_dir)
        dsn = embedded.start()
    db = Database(dsn, "pscheduler-token")
    try:
        migrate.upgrade(dsn)
        yield db
    finally:
        db.close()
        if embedded is not None:
            embedded.stop()


def run(args: argparse.Namespace, config: Config) -> int:
    try:
        with _database(config) as db:
            if args.token_action == "create":
                token = tokens.create(db, args.name, admin=args.admin)
                print(token)
                print(
                    f"Token {args.name!r} created{' (admin)' if args.admin else ''}; it will not "
                    "be shown again.  Send it as 'Authorization: Bearer <token>'.",
                    file=sys.stderr,
                )
            elif args.token_action == "list":
                for row in tokens.listing(db):
                    used = format_timestamp(row["last_used"]) or "never used"
                    rights = "admin" if row["admin"] else "user"
                    print(f"{row['name']}\t{rights}\t{format_timestamp(row['created'])}\t{used}")
            elif args.token_action == "revoke":
                tokens.revoke(db, args.name)
                print(f"Token {args.name!r} revoked", file=sys.stderr)
    except tokens.TokenError as exc:
        print(f"pscheduler-server token: {exc}", file=sys.stderr)
        return 1
    return 0
