"""Tasks across two nodes, A (127.0.0.2) and B (127.0.0.3): creation, placement, execution."""

from __future__ import annotations

import concurrent.futures

import pytest

from tests.helpers import require_program, wait_for
from tests.multi.common import (
    first_run,
    merged,
    overlaps,
    post_task,
    run_uuid,
    runs_of,
    timeline,
)

# Short iperf3 runs: 1 s of transfer, link-rtt keeps the setup time at its 1 s minimum.
FAST = {"schema": 3, "duration": "PT1S", "link-rtt": "PT0.01S"}


def throughput(dest, **spec) -> dict:
    return {
        "type": "throughput",
        "spec": {**FAST, "dest": dest.host, "dest-node": dest.address, **spec},
    }


def test_task_is_posted_to_the_participant_with_the_leads_uuid(nodes):
    a, b = nodes
    require_program("iperf3")
    # Task schema 5 (keep-after-archive) crosses too: the original's participants took <= 4.
    extra = {"schema": 5, "keep-after-archive": "PT1H"}
    task = post_task(a, throughput(b), {"start": "PT1H"}, **extra)
    there = b.get(f"tasks/{task}", params={"detail": "true"})
    assert there.status_code == 200, there.text
    detail = there.json()["detail"]
    assert detail["participant"] == 1
    assert detail["participants"] == [a.address, b.address]
    assert detail["enabled"] is True
    assert there.json()["tool"] == "iperf3"
    assert detail["hints"]["requester"] == a.host  # the lead speaks from its own address
    assert a.delete(f"tasks/{task}").status_code == 200


def test_unreachable_participant_fails_creation_naming_it(nodes, cluster):
    a, _ = nodes
    require_program("iperf3")
    body = {"schema": 1, "test": throughput_to("127.0.0.9:1"), "schedule": {}}
    response = a.post("tasks", json=body)
    assert response.status_code == 502
    assert "127.0.0.9:1" in response.text and "Connection refused" in response.text


def throughput_to(address: str) -> dict:
    return {"type": "throughput", "spec": {**FAST, "dest": "127.0.0.9", "dest-node": address}}


def test_clock_between_nodes(nodes):
    a, b = nodes
    # PSCHEDULER_LOCAL_NODE is not set by the server, so name the local side too.
    clock = {"schema": 1, "source": a.address, "dest": b.address}
    task = post_task(a, {"type": "clock", "spec": clock})
    run = first_run(a, task)
    result = merged(a, task, run_uuid(run), wait=20)["result-merged"]
    assert result["succeeded"] is True, result
    assert result["remote"]["time"] and result["local"]["time"]


def test_task_led_by_another_node_is_handed_to_it(nodes):
    a, b = nodes
    require_program("ping")
    spec = {"schema": 2, "source-node": b.address, "dest": "127.0.0.1", "count": 1}
    response = a.post(
        "tasks", json={"schema": 1, "test": {"type": "rtt", "spec": spec}, "schedule": {}}
    )
    assert response.status_code == 200, response.text
    url = response.json()
    assert url.startswith(b.base + "/tasks/"), url
    task = url.rsplit("/", 1)[1]
    assert a.get(f"tasks/{task}").status_code == 404  # A keeps nothing
    run = first_run(b, task)
    result = merged(b, task, run_uuid(run), wait=20)["result-merged"]
    assert result["succeeded"] is True, result


def test_leads_racing_for_each_others_timeline_never_overlap(nodes):
    a, b = nodes
    require_program("iperf3")
    schedule = {"repeat": "PT30S", "slip": "PT20S", "max-runs": 2}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        fa = pool.submit(post_task, a, throughput(b), schedule)
        fb = pool.submit(post_task, b, throughput(a), schedule)
        ta, tb = fa.result(), fb.result()
    try:
        for node, task in ((a, ta), (b, tb)):
            wait_for(
                lambda n=node, t=task: len(runs_of(n, t)) >= 2,
                timeout=30,
                interval=0.3,
                what=f"two runs of {task}",
            )
        for node in (a, b):
            spans = timeline(node)
            holders = {href.split("/tasks/")[1].split("/")[0] for _, _, href in spans}
            states = [
                (r["state"], r["errors"]) for n, t in ((a, ta), (b, tb)) for r in runs_of(n, t)
            ]
            assert {ta, tb} <= holders, (node.host, states)  # both leads' runs on both nodes
            assert overlaps(spans) == []
            assert all(state != "nonstart" for state, _ in states), states  # conflicts retried
    finally:
        a.delete(f"tasks/{ta}")
        b.delete(f"tasks/{tb}")


@pytest.fixture(scope="module")
def measured(nodes):
    """TCP, UDP and reverse throughput tasks A→B, posted together (they queue up)."""
    a, b = nodes
    require_program("iperf3")
    variants = {
        "tcp": throughput(b),
        "udp": throughput(b, udp=True, bandwidth=10_000_000),
        "reverse": throughput(b, reverse=True),
    }
    # Exclusive runs: each waits for the one before it within its slip.
    return {name: post_task(a, test, {"slip": "PT60S"}) for name, test in variants.items()}


@pytest.mark.parametrize("variant", ["tcp", "udp", "reverse"])
def test_throughput_a_to_b(nodes, measured, variant):
    a, b = nodes
    task = measured[variant]
    run = first_run(a, task)
    assert run["state"] != "nonstart", run["errors"]
    ruuid = run_uuid(run)
    there = b.get(f"tasks/{task}/runs/{ruuid}")
    assert there.status_code == 200, there.text  # same run UUID on the participant
    assert there.json()["start-time"] == run["start-time"]
    shown = there.json()
    assert shown["participant-data"]["server_port"]
    # The server's credentials cross to the lead (it asks with the task's key) but are hidden
    # from anybody without the key, on both nodes.
    assert "_auth" in shown["participant-data"] and shown["participant-data"]["_auth"] is None
    done = merged(a, task, ruuid, wait=60)
    assert done["participant-data-full"][1]["_auth"] is None
    result = done["result-merged"]
    assert done["state"] == "finished", (done["state"], result.get("error"), a.log()[-2000:])
    assert result["succeeded"] is True
    assert result["summary"]["summary"]["throughput-bits"] > 0
    assert len(done["result-full"]) == 2 and all(r["succeeded"] for r in done["result-full"])
    # Our client's data says schema 3, so our server demanded the credentials it generated,
    # and our client presented them: authorisation on, ours to ours.
    assert done["participant-data-full"][0]["schema"] >= 2
    server_argv = done["result-full"][1]["diags"].split()
    assert "--authorized-users-path" in server_argv and "--rsa-private-key-path" in server_argv
    client_argv = done["result-full"][0]["diags"].split()
    assert "--username" in client_argv and "--rsa-public-key-path" in client_argv
    if variant == "udp":
        assert "-u" in done["result-full"][0]["diags"].split()
    if variant == "reverse":
        assert "-R" in done["result-full"][0]["diags"].split()


def test_participant_refusing_by_limits_is_named_with_its_reason(nodes, cluster):
    """A participant whose limits refuse the task: the lead's answer names it and carries its
    diagnostics, and the lead keeps no enabled copy."""
    import json
    from pathlib import Path

    from tests.helpers import Node

    a, _ = nodes
    require_program("iperf3")
    reject_all = Path(__file__).resolve().parents[2] / "examples" / "limits" / "reject-all.conf"
    strict = Node(
        cluster.new_database(), host="127.0.0.5", extra_args=["--limits", str(reject_all)]
    )
    try:
        strict.start()
        body = {"schema": 1, "test": throughput(strict), "schedule": {"start": "PT1H"}}
        response = a.post("tasks", json=body)
        assert 400 <= response.status_code < 600, response.text
        assert strict.address in response.text
        assert "forbidden by limits" in response.text
        enabled = a.get(
            "tasks",
            params={
                "json": json.dumps({"detail": {"enabled": True}}),
                "expanded": "",
                "detail": "",
            },
        ).json()
        assert not [t for t in enabled if strict.address in t["detail"]["participants"]]
    finally:
        strict.cleanup()
