"""API tokens: bearer credentials for operators (``Authorization: Bearer <token>``).

The original trusts a request from an address of the host itself (the CLI, the daemons) and
otherwise a task's key or its requester's address.  The first is not kept: the node's own
archiver, HTTP queue and tools send from those addresses for whoever posted a task, so an
admin token (or ``pscheduler-server`` on the database) is what makes an operator.  A token is 32 random bytes shown
once at creation; only its SHA-256 is stored (a slow hash adds nothing for random secrets).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import re
import secrets

from pscheduler.db import Database

log = logging.getLogger(__name__)

PREFIX = "pst_"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclasses.dataclass(frozen=True)
class Token:
    name: str
    admin: bool


class TokenError(ValueError):
    """A token command that cannot be carried out; the message says why."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def create(db: Database, name: str, admin: bool = False) -> str:
    """Makes a token called ``name`` and returns it; it can never be shown again."""
    if not NAME_RE.match(name or ""):
        raise TokenError(
            f"Invalid token name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-'"
        )
    token = PREFIX + secrets.token_urlsafe(32)
    if db.one("token_create", {"name": name, "hash": _digest(token), "admin": admin}) is None:
        raise TokenError(f"A token called {name!r} exists already; revoke it first")
    return token


def listing(db: Database) -> list[dict]:
    """Names and rights of the tokens (never the tokens or their hashes)."""
    return db.all("token_list")


def revoke(db: Database, name: str) -> None:
    if not db.execute("token_revoke", {"name": name}):
        raise TokenError(f"No token called {name!r}")


def _presented(header_value: str | None) -> str | None:
    if not header_value:
        return None
    scheme, _, rest = header_value.strip().partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest.strip()
    return header_value.strip() if not rest else None


def authorized(db: Database, header_value: str | None, address: str | None = None) -> Token | None:
    """The token an ``Authorization`` header carries, or None; failures are logged.

    Every stored hash is compared in constant time, so timing tells nothing about which
    bytes matched.
    """
    token = _presented(header_value)
    if token is None:
        return None
    digest = _digest(token)
    found = None
    for row in db.all("token_hashes"):
        if hmac.compare_digest(digest, row["hash"]):
            found = Token(row["name"], bool(row["admin"]))
    if found is None:
        log.warning("Rejected an API token from %s", address or "an unknown address")
        return None
    db.execute("token_used", {"name": found.name})
    return found


def admin_allowed(db: Database, header_value: str | None, address: str | None) -> bool:
    """Node administration (pause, resume, deleting every workflow): an admin token only.

    A source address never counts, not even the host's own (see the module's text).
    """
    token = authorized(db, header_value, address)
    return token is not None and token.admin
