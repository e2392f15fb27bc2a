"""GET /pscheduler/stat/requesters: usage per requester address, busiest first."""

from __future__ import annotations

from tests.interfaces._util import post_task, session_from, wait_run_final


def test_usage_is_accounted_per_requester_busiest_first(make_node):
    n = make_node()
    other = session_from("127.0.0.2")
    busy = [
        post_task(n, "idleex", {"duration": "PT1S"}, {"slip": "PT1M"}, session=other),
        post_task(n, "idleex", {"duration": "PT2S"}, {"slip": "PT1M"}, session=other),
        post_task(n, "noop", {"fail": 1.0}, session=other),
    ]
    quiet = [post_task(n, "idle", {"duration": "PT1S"})]
    for task in busy + quiet:
        wait_run_final(n, task)

    r = n.get("stat/requesters", params={"start": "-PT1H", "end": "+PT1H"})
    assert r.status_code == 200, r.text
    rows = r.json()["requesters"]
    assert [row["requester"] for row in rows] == ["127.0.0.2", "127.0.0.1"]
    first, second = rows
    assert (first["tasks"], first["runs"], first["runs-failed"]) == (3, 3, 1)
    # Two exclusive runs of 1 s and 2 s (ends are truncated to when they really finished).
    assert 2.9 <= first["exclusive-seconds"] <= 4.5
    assert (second["tasks"], second["runs"], second["runs-failed"]) == (1, 1, 0)
    assert second["exclusive-seconds"] == 0  # idle is a background test

    # A window in the past holds nothing; reversed bounds are swapped; bad ones are 400.
    assert n.get("stat/requesters", params={"end": "-PT1H"}).json()["requesters"] == []
    swapped = n.get("stat/requesters", params={"start": "+PT1H", "end": "-PT1H"}).json()
    assert [row["requester"] for row in swapped["requesters"]] == ["127.0.0.2", "127.0.0.1"]
    bad = n.get("stat/requesters", params={"start": "last tuesday"})
    assert bad.status_code == 400
    assert "start" in bad.text
