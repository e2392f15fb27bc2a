"""Three participants: free time is intersected across all, the run lands on every node."""

from __future__ import annotations

from tests.multi.common import first_run, merged, post_task, run_uuid


def test_idle_on_three_nodes_runs_everywhere_and_merges(mesh):
    a, b, c = mesh
    spec = {"schema": 2, "duration": "PT1S", "host": [a.address, b.address, c.address]}
    task = post_task(a, {"type": "idle", "spec": spec})
    run = first_run(a, task)
    assert run["state"] != "nonstart", run["errors"]
    ruuid = run_uuid(run)
    for number, node in enumerate((b, c), start=1):
        there = node.get(f"tasks/{task}/runs/{ruuid}").json()
        assert there["participant"] == number
        assert there["start-time"] == run["start-time"]
        assert len(there["participant-data-full"]) == 3
    done = merged(a, task, ruuid, wait=30)
    assert done["state"] == "finished", done
    assert [r["succeeded"] for r in done["result-full"]] == [True, True, True]
