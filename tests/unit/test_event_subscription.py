"""A stream's subscription: woken only for what its filter takes, written in bounded pieces."""

from __future__ import annotations

import threading
import uuid

from pscheduler.events.log import TAKE_MAX, Filters, Subscription


def _event(i: int, task: uuid.UUID) -> dict:
    return {"id": i, "kind": "run-state", "task_uuid": task, "test_type": "idle"}


def test_a_backlog_is_taken_in_pieces_of_take_max_in_order():
    sub = Subscription(Filters())
    task = uuid.uuid4()
    sub.push([_event(i, task) for i in range(1, 2 * TAKE_MAX + 51)], resume_id=2 * TAKE_MAX + 50)
    sizes, ids = [], []
    while True:
        batch, resume = sub.take(0)
        if not batch:
            break
        sizes.append(len(batch))
        ids += [e["id"] for e in batch]
        assert resume == 2 * TAKE_MAX + 50
    assert sizes == [TAKE_MAX, TAKE_MAX, 50]
    assert ids == list(range(1, 2 * TAKE_MAX + 51))


def test_events_of_other_tasks_do_not_wake_a_filtered_stream():
    mine, other = uuid.uuid4(), uuid.uuid4()
    sub = Subscription(Filters(tasks=frozenset({mine})))
    woke = threading.Event()

    def waiter():
        batch, _ = sub.take(5.0)
        if batch:
            woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    for _ in range(500):  # until the waiter sleeps in take() (bounded: 5 s)
        with sub.cond:
            if sub.cond._waiters:
                break
        threading.Event().wait(0.01)
    else:
        raise AssertionError("the waiter never waited")
    sub.push([_event(1, other), _event(2, other)], resume_id=2)
    assert not woke.wait(0.3)
    assert sub.resume_id == 2  # the resume point still moves
    sub.push([_event(3, mine)], resume_id=3)
    assert woke.wait(5.0)
    thread.join(5.0)
