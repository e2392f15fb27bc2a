"""The push event stream: GET /pscheduler/events (Server-Sent Events from the event table)."""

from __future__ import annotations

import datetime as dt
import re

from tests.live.live_helpers import Collector, iso, post_task, soon


def _kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_events_arrive_for_each_kind_in_order(live_node):
    watch = Collector(live_node)
    try:
        start = soon(5)
        # One run that finishes; two exclusive tasks fighting for the same seconds (the second
        # becomes a non-starter); one repeating task cancelled while its runs are in the future.
        one = post_task(live_node, "idle", {"duration": "PT1S"})
        hold = post_task(live_node, "idleex", {"duration": "PT3S"}, {"start": iso(start)})
        loser = post_task(
            live_node, "idleex", {"duration": "PT2S"}, {"start": iso(start), "slip": "PT0S"}
        )
        later = post_task(
            live_node,
            "idle",
            {"duration": "PT1S"},
            {"start": iso(soon(60)), "repeat": "PT10S", "max-runs": 3},
        )
        watch.wait(
            lambda _: len([e for e in watch.of(later) if e.kind == "run-placed"]) == 3,
            what="three placed runs of the later task",
        )
        assert live_node.delete(f"tasks/{later}").status_code == 200
        watch.wait(
            lambda _: (
                any(e.kind == "result-merged" for e in watch.of(one))
                and len([e for e in watch.of(later) if e.kind == "run-deleted"]) == 3
            ),
            timeout=30,
            what="the finished run and the cancelled task's deleted runs",
        )

        first = watch.of(one)
        assert _kinds(first)[:2] == ["task-created", "run-placed"]
        states = [e.data["data"] for e in first if e.kind == "run-state"]
        assert states[0]["old"] == "pending" and states[-1]["new"] == "finished"
        for before, after in zip(states, states[1:], strict=False):
            assert after["old"] == before["new"]  # a chain: nothing lost, nothing reordered
        merged = [i for i, e in enumerate(first) if e.kind == "result-merged"]
        assert len(merged) == 1 and merged[0] > _kinds(first).index("run-placed")
        assert first[merged[0]].data["data"]["succeeded"] is True
        run = first[1].data["run"]
        assert all(e.data["run"] == run for e in first[1:])
        assert first[1].data["run-href"].endswith(f"/tasks/{one}/runs/{run}")
        assert first[1].data["task-href"].endswith(f"/tasks/{one}")
        # The JSON is made by PostgreSQL (migration 062): times are UTC with microseconds.
        placed = first[1].data["time"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", placed), placed
        assert dt.datetime.fromisoformat(placed).utcoffset() == dt.timedelta(0)
        assert first[0].data["test"] == "idle"

        watch.wait(
            lambda _: any(e.kind == "run-nonstart" for e in watch.of(loser)), what="the non-starter"
        )
        nonstart = [e for e in watch.of(loser) if e.kind == "run-nonstart"][0]
        assert "No free time" in nonstart.data["data"]["reason"]
        assert any(e.kind == "run-placed" for e in watch.of(hold))

        cancelled = watch.of(later)
        assert (
            _kinds(cancelled)
            == ["task-created"] + ["run-placed"] * 3 + ["task-cancelled"] + ["run-deleted"] * 3
        )

        # Ids are unique; a transaction that commits late may deliver its event after a higher id.
        ids = [e.data["id"] for e in watch.events if e.kind != "ready"]
        assert len(ids) == len(set(ids))
        # requests asks for gzip, as browsers do: all of the above came gzipped, each event as
        # it happened (the client decodes every write as it arrives).
        assert watch.stream.response.headers["Content-Encoding"] == "gzip"
    finally:
        watch.close()


def test_filters_select_by_task_test_and_kind(live_node):
    by_test = Collector(live_node, test="noop")
    by_kind = Collector(live_node, kinds=["task-created", "task-cancelled"])
    try:
        other = post_task(live_node, "idle", {"duration": "PT1S"}, {"start": iso(soon(60))})
        noop = post_task(live_node, "noop", {"data": {"n": 1}})
        by_task = Collector(live_node, task=noop)
        try:
            by_test.wait(
                lambda evs: any(e.kind == "result-merged" for e in evs),
                what="the noop run's result",
            )
            by_task.wait(
                lambda evs: any(e.kind == "result-merged" for e in evs),
                what="the noop run's result on the task stream",
            )
            assert live_node.delete(f"tasks/{other}").status_code == 200
            by_kind.wait(
                lambda evs: any(e.kind == "task-cancelled" for e in evs), what="the cancellation"
            )
            real = [e for e in by_test.events if e.kind != "ready"]
            assert real and {e.data["test"] for e in real} == {"noop"}
            assert {e.data["task"] for e in by_task.events if e.kind != "ready"} == {noop}
            kinds = {e.kind for e in by_kind.events if e.kind != "ready"}
            assert kinds == {"task-created", "task-cancelled"}
            assert {other, noop} <= {e.data.get("task") for e in by_kind.events}
        finally:
            by_task.close()
    finally:
        by_test.close()
        by_kind.close()


def test_last_event_id_resumes_without_losing_events(live_node):
    first = Collector(live_node)
    task = post_task(live_node, "idle", {"duration": "PT1S"})
    created = first.wait(
        lambda _: any(e.kind == "task-created" for e in first.of(task)), what="task-created"
    )
    resume = [e for e in created if e.data.get("task") == task][0].id
    first.close()  # the client goes away while the run happens
    everything = Collector(live_node, task=task, last_id="0")
    try:
        everything.wait(
            lambda evs: any(e.kind == "result-merged" for e in evs), what="the run's result"
        )
    finally:
        everything.close()
    again = Collector(live_node, task=task, last_id=resume)
    try:
        resumed = again.wait(
            lambda evs: any(e.kind == "result-merged" for e in evs), what="the replayed result"
        )
    finally:
        again.close()
    replayed = [e for e in resumed if e.kind != "ready"]
    full = [e for e in everything.events if e.kind not in ("ready", "task-created")]
    assert sorted(e.data["id"] for e in replayed) == sorted(e.data["id"] for e in full)
    assert replayed[0].kind == "run-placed"
    assert int(resumed[-1].id) >= replayed[-1].data["id"] or resumed[-1].kind == "ready"


def test_bad_stream_requests_get_clear_errors(live_node):
    r = live_node.get("events", params={"kind": "nonsense"}, stream=True)
    assert r.status_code == 400 and "Unknown event kind(s) nonsense" in r.text
    r = live_node.get("events", headers={"Last-Event-ID": "abc"}, stream=True)
    assert r.status_code == 400 and "Invalid event id 'abc'" in r.text
    r = live_node.get("events", params={"task": "not-a-uuid"}, stream=True)
    assert r.status_code == 400 and "Invalid task UUID" in r.text
