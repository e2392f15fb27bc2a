"""A stream's subscription: woken only for what its filter takes, written in bounded pieces."""

from __future__ import annotations

import threading
import uuid

from pscheduler.events.log import TAKE_MAX, Event, Filters, Subscription


def _event(i: int, task: str) -> Event:
    return Event(i, "run-state", task, None, "idle", "{}")


def test_a_backlog_is_taken_in_pieces_of_take_max_in_order():
    sub = Subscription(Filters())
    task = str(uuid.uuid4())
    sub.push([_event(i, task) for i in range(1, 2 * TAKE_MAX + 51)], resume_id=2 * TAKE_MAX + 50)
    sizes, ids = [], []
    while True:
        batch, resume = sub.take(0)
        if not batch:
            break
        sizes.append(len(batch))
        ids += [e.id for e in batch]
        assert resume == 2 * TAKE_MAX + 50
    assert sizes == [TAKE_MAX - 1, TAKE_MAX, 51]  # cut before ids that are multiples of it
    assert ids == list(range(1, 2 * TAKE_MAX + 51))


def test_streams_that_fell_behind_by_different_amounts_cut_the_same_pieces():
    """So a piece is rendered and compressed once for all the streams that send it."""
    task = str(uuid.uuid4())
    early, late = Subscription(Filters()), Subscription(Filters())
    for sub in (early, late):
        sub.push([_event(i, task) for i in range(1000, 1037)], resume_id=1036)
    early.take(0)  # the early stream sent the first 37; the late one still has them
    backlog = [_event(i, task) for i in range(1037, 1037 + 3 * TAKE_MAX)]
    for sub in (early, late):
        sub.push(backlog, resume_id=backlog[-1].id)

    def pieces(sub):
        out = []
        while batch := sub.take(0)[0]:
            out.append((batch[0].id, batch[-1].id))
        return out

    early_pieces, late_pieces = pieces(early), pieces(late)
    assert early_pieces[0] == (1037, 1199) and late_pieces[0] == (1000, 1199)
    assert early_pieces[1:] == late_pieces[1:] == [(1200, 1399), (1400, 1599), (1600, 1636)]


def test_events_of_other_tasks_do_not_wake_a_filtered_stream():
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
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
