"""API tokens (pscheduler-server token ...) and the admin-only pause/resume endpoints."""

from __future__ import annotations

import hashlib
import subprocess

import psycopg2
import pytest

from pscheduler.db import Database
from pscheduler.node import tokens
from tests.helpers import SERVER, wait_for
from tests.interfaces._util import session_from


def token_cli(node, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SERVER, "--dsn", node.dsn, "token", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def admin_node(make_node):
    """A node of its own: these tests pause it."""
    return make_node()


def test_token_commands_show_the_token_once_and_store_only_its_hash(admin_node, caplog):
    caplog.set_level("WARNING", logger="pscheduler.node.tokens")
    n = admin_node
    made = token_cli(n, "create", "ops", "--admin")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith(tokens.PREFIX) and len(token) > 40
    assert "will not be shown again" in made.stderr

    with psycopg2.connect(n.dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT hash FROM api_token WHERE name = 'ops'")
        (stored,) = cur.fetchone()
    assert stored == hashlib.sha256(token.encode()).hexdigest()

    again = token_cli(n, "create", "ops")
    assert again.returncode == 1 and "exists already" in again.stderr
    bad = token_cli(n, "create", "no spaces please")
    assert bad.returncode == 1 and "Invalid token name" in bad.stderr

    listed = token_cli(n, "list")
    assert listed.returncode == 0
    assert listed.stdout.startswith("ops\tadmin\t") and token not in listed.stdout

    db = Database(n.dsn)
    try:
        assert tokens.authorized(db, f"Bearer {token}") == tokens.Token("ops", True)
        assert tokens.authorized(db, token) == tokens.Token("ops", True)
        assert tokens.authorized(db, f"Bearer {token}x", "192.0.2.9") is None
        assert tokens.authorized(db, None) is None
    finally:
        db.close()
    assert "Rejected an API token from 192.0.2.9" in caplog.text

    assert token_cli(n, "revoke", "ops").returncode == 0
    assert token_cli(n, "list").stdout == ""
    assert token_cli(n, "revoke", "ops").returncode == 1


def test_pause_and_resume_need_an_admin_token_from_any_address(admin_node):
    n = admin_node
    admin = token_cli(n, "create", "ops", "--admin").stdout.strip()
    user = token_cli(n, "create", "viewer").stdout.strip()
    remote = session_from("127.0.0.2")  # reaches the node, but is not one of its addresses
    pause = n.url("control/pause")

    assert remote.put(pause, timeout=10).status_code == 403
    assert (
        remote.put(pause, headers={"Authorization": f"Bearer {user}"}, timeout=10).status_code
        == 403
    )
    wrong = remote.put(pause, headers={"Authorization": "Bearer pst_guess"}, timeout=10)
    assert wrong.status_code == 403
    wait_for(
        lambda: "Rejected an API token from 127.0.0.2" in n.log(),
        timeout=10,
        what="the failed attempt in the node's log",
    )
    assert n.get("stat/control/pause").json() == {"is_paused": False}

    r = remote.put(
        pause, params={"duration": "PT1H"}, headers={"Authorization": f"Bearer {admin}"}, timeout=10
    )
    assert r.status_code == 200, r.text
    assert r.json()["is_paused"] is True and r.json()["infinite"] is False
    assert n.get("stat/control/pause").json()["is_paused"] is True

    resume = n.url("control/resume")
    assert remote.put(resume, timeout=10).status_code == 403
    r = remote.put(resume, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert r.json() == {"is_paused": False}

    # From the host itself a token is needed too: the node's own archiver and tools send
    # from its addresses (pscheduler-server pause/resume act on the database instead).
    assert n.put("control/pause").status_code == 403
    bearer = {"Authorization": f"Bearer {admin}"}
    r = n.put("control/pause", headers=bearer)
    assert r.status_code == 200 and r.json() == {"is_paused": True, "infinite": True}
    assert n.put("control/pause", params={"duration": "soon"}, headers=bearer).status_code == 400
    assert n.put("control/resume", headers=bearer).json() == {"is_paused": False}

    # Deleting every reported workflow is administration too.
    monitor = n.base.removesuffix("/pscheduler") + "/m1/workflows/"
    n.session.post(n.base.removesuffix("/pscheduler") + "/m1/workflow/create/", timeout=10)
    assert remote.delete(monitor, timeout=10).status_code == 403
    r = remote.delete(monitor, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert r.status_code == 200
