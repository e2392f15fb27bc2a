"""Node-level archiving: default archives (loaded, validated, reloaded), keep-after-archive,
and at-least-once delivery when the archiver is killed with SIGKILL mid-batch."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from pathlib import Path

import psycopg2

from tests.helpers import ALLOW_LOOPBACK_SINKS, Node, wait_for

from ._helpers import Sink, by_label, noop_task, post_and_finish, wait_archivings


def _db_one(node, sql: str, params=()):
    conn = psycopg2.connect(node.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()
    finally:
        conn.close()


def test_default_archives_are_loaded_validated_and_reloaded(cluster):
    sink = Sink()
    node = Node(cluster.new_database(), env=dict(ALLOW_LOOPBACK_SINKS))
    folder = Path(node.state_dir) / "default-archives"
    folder.mkdir()
    (folder / "sink.json").write_text(
        json.dumps({"archiver": "http", "label": "sink", "runs": "all",
                    "data": {"_url": sink.url("/default")}})
    )  # fmt: skip
    (folder / "list.json").write_text(
        json.dumps([{"archiver": "bitbucket", "label": "bucket", "data": {}},
                    {"archiver": "nosuch", "data": {}}])
    )  # fmt: skip
    (folder / "broken.json").write_text("{not json")
    (folder / "badjq.json").write_text(
        json.dumps({"archiver": "bitbucket", "data": {}, "transform": {"script": "{{{"}})
    )
    (folder / "badttl.json").write_text(
        json.dumps({"archiver": "bitbucket", "data": {}, "ttl": "soon"})
    )
    try:
        node.start()
        log = wait_for(
            lambda: "default archive(s)" in node.log() and node.log(), timeout=10, what="the load"
        )
        assert f"Default archive {folder}/broken.json: invalid JSON" in log
        assert (
            f"Default archive {folder}/list.json entry 1: No archiver 'nosuch' is available" in log
        )
        assert f"Default archive {folder}/badjq.json: Invalid transform:" in log
        assert f"Default archive {folder}/badttl.json: At /ttl:" in log
        assert "Loaded 2 default archive(s)" in log

        run = post_and_finish(node, noop_task([]))
        archivings = by_label(wait_archivings(node, run["href"], 2))
        assert set(archivings) == {"sink", "bucket"}
        assert all(a["default"] and a["archived"] for a in archivings.values())
        (got,) = sink.wait_count(1, path="/default")
        assert got["body"]["id"] == run["href"].rsplit("/", 1)[1]

        # Changing the directory takes effect without a restart.
        (folder / "sink.json").unlink()
        (folder / "second.json").write_text(
            json.dumps({"archiver": "http", "label": "second", "data": {"_url": sink.url("/2")}})
        )
        wait_for(
            lambda: _db_one(node, "SELECT count(*) FROM archive_default WHERE source = %s",
                            ("second.json",))[0] == 1
            and _db_one(node, "SELECT count(*) FROM archive_default")[0] == 2,
            timeout=10, what="the default archives to reload",
        )  # fmt: skip
        run = post_and_finish(node, noop_task([]))
        archivings = by_label(wait_archivings(node, run["href"], 2))
        assert set(archivings) == {"second", "bucket"}
        sink.wait_count(1, path="/2")
    finally:
        node.cleanup()
        sink.close()


def test_keep_after_archive_sets_the_run_expiry_when_the_last_archiving_completes(node):
    archives = [
        {"archiver": "bitbucket", "data": {}},
        {"archiver": "failer", "data": {"fail": 1, "retry": 0}},
    ]
    task = noop_task(archives, schema=5, **{"keep-after-archive": "PT1H"})
    run = post_and_finish(node, task)
    wait_archivings(node, run["href"], 2)
    run_uuid = run["href"].rsplit("/", 1)[1]
    expires, completed = _db_one(
        node,
        "SELECT r.expires, (SELECT max(completed_at) FROM archiving a WHERE a.run = r.id)"
        " FROM run r WHERE r.uuid = %s",
        (run_uuid,),
    )
    assert expires is not None
    assert abs(expires - (completed + dt.timedelta(hours=1))) < dt.timedelta(seconds=5)


def test_kill_9_mid_batch_loses_nothing(make_node):
    node = make_node()
    # Eight deliveries at a time, each held this long: 24 take three rounds, so work is
    # still waiting when the backlog is read below even on a loaded machine (at 0.4 s a
    # round, all 24 were once done before that read was answered).
    sink = Sink(delay=1.5)
    try:
        count = 24
        archives = [
            {"archiver": "http", "label": f"a{i}", "data": {"_url": sink.url(f"/a{i}")}}
            for i in range(count)
        ]
        run = post_and_finish(node, noop_task(archives))
        sink.wait_count(1, timeout=15)  # a batch is in flight now
        assert int(node.get("stat/archiving/backlog").text) >= 1
        (pid,) = _db_one(node, "SELECT pid FROM heartbeat WHERE name = 'archiver'")
        os.kill(pid, signal.SIGKILL)

        archivings = wait_archivings(node, run["href"], count, timeout=40)
        assert all(a["archived"] for a in archivings)
        delivered = {r["path"] for r in sink.received}
        assert delivered == {f"/a{i}" for i in range(count)}
        (new_pid,) = _db_one(node, "SELECT pid FROM heartbeat WHERE name = 'archiver'")
        assert new_pid != pid
        assert "Took back" in node.log()
        assert node.get("stat/archiving/backlog").text.strip() == "0"
        assert node.get("stat/archiving/upcoming").text.strip() == "0"
    finally:
        sink.close()
