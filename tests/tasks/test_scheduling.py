"""The scheduler: each schedule form produces the runs it should, on a conflict-free timeline."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.helpers import wait_for
from tests.tasks.util import idle, iso, now, post_task, run_times, runs


@pytest.fixture(scope="module")
def fresh(cluster):
    """A node of this module's own, so other tests' exclusive runs stay out of the way."""
    from tests.helpers import Node

    n = Node(cluster.new_database()).start()
    yield n
    n.cleanup()


def placed(node, url, count, timeout=10):
    return wait_for(
        lambda: (lambda t: t if len(t) >= count else None)(run_times(node, url)),
        timeout=timeout,
        what=f"{count} run(s) placed",
    )


def test_soonest_run_starts_within_two_seconds(node):
    posted = now()
    url = post_task(node, idle())
    ((start, _, _),) = placed(node, url, 1)
    assert 0 <= (start - posted).total_seconds() <= 2.5


def test_absolute_start(node):
    start = (now() + dt.timedelta(seconds=20)).replace(microsecond=0)
    url = post_task(node, idle(start=iso(start)))
    assert placed(node, url, 1)[0][0] == start


def test_relative_start(node):
    posted = now()
    url = post_task(node, idle(start="PT30S"))
    offset = (placed(node, url, 1)[0][0] - posted).total_seconds()
    assert 29 <= offset <= 32


def test_aligned_start(node):
    url = post_task(node, idle(start="@PT15S"))
    start = placed(node, url, 1)[0][0]
    assert start.second % 15 == 0 and start > now()


def test_repeat_grid_with_max_runs(node):
    start = (now() + dt.timedelta(seconds=5)).replace(microsecond=0)
    url = post_task(node, idle("PT1S", start=iso(start), repeat="PT5S", **{"max-runs": 3}))
    times = placed(node, url, 3)
    assert [t[0] for t in times] == [start + dt.timedelta(seconds=5 * i) for i in range(3)]
    assert len(run_times(node, url)) == 3


def test_repeat_until(node):
    start = (now() + dt.timedelta(seconds=10)).replace(microsecond=0)
    until = start + dt.timedelta(seconds=25)
    url = post_task(node, idle("PT1S", start=iso(start), repeat="PT10S", until=iso(until)))
    times = placed(node, url, 3)
    assert [t[0] for t in times] == [
        start,
        start + dt.timedelta(seconds=10),
        start + dt.timedelta(seconds=20),
    ]


def test_repeat_cron(node):
    # Posted in a minute's last seconds, the first cron time is closer than the scheduler's
    # start margin and the run rightly starts a little late (within its slip): post after it.
    second = now().second + now().microsecond / 1e6
    if second > 50:
        time.sleep(61 - second)
    url = post_task(node, idle("PT1S", **{"repeat-cron": "* * * * *", "max-runs": 2}))
    times = placed(node, url, 2)
    assert all(t[0].second == 0 for t in times)
    assert (times[1][0] - times[0][0]) == dt.timedelta(minutes=1)


def test_runs_fill_the_horizon_at_once(node):
    url = post_task(node, idle("PT1S", start=iso(now() + dt.timedelta(seconds=10)), repeat="PT1H"))
    times = placed(node, url, 24)
    assert len(times) == 24  # P1D horizon, hourly: all placed in one pass, not one per loop


def test_slip_and_sliprand_stay_in_the_window(fresh):
    start = (now() + dt.timedelta(seconds=30)).replace(microsecond=0)
    url = post_task(
        fresh, idle("PT1S", test="idleex", start=iso(start), slip="PT20S", sliprand=True)
    )
    got = placed(fresh, url, 1)[0][0]
    assert start <= got <= start + dt.timedelta(seconds=20)
    fresh.session.delete(url, timeout=10)


def test_exclusive_conflict_slips_or_becomes_a_nonstarter(fresh):
    start = (now() + dt.timedelta(seconds=40)).replace(microsecond=0)
    first = post_task(fresh, idle("PT3S", test="idleex", start=iso(start)))
    ((a_start, a_end, a_state),) = placed(fresh, first, 1)
    assert a_state == "pending" and a_end - a_start == dt.timedelta(seconds=4)

    blocked = post_task(fresh, idle("PT1S", test="idleex", start=iso(start)))
    run = wait_for(lambda: runs(fresh, blocked), what="non-starter")[0]
    assert run["state"] == "nonstart"
    task_uuid = first.rsplit("/", 1)[1]
    assert task_uuid in run["errors"] and "No free time" in run["errors"]

    normal = post_task(fresh, idle("PT1S", test="idlenorm", start=iso(start)))
    assert wait_for(lambda: runs(fresh, normal), what="normal run")[0]["state"] == "nonstart"

    slipping = post_task(fresh, idle("PT1S", test="idleex", start=iso(start), slip="PT10S"))
    ((s_start, _, s_state),) = placed(fresh, slipping, 1)
    assert s_state == "pending" and s_start == a_end

    background = post_task(fresh, idle("PT1S", test="idle", start=iso(start)))
    assert placed(fresh, background, 1)[0][0] == start  # background overlaps anything
    for url in (first, blocked, normal, slipping, background):
        fresh.session.delete(url, timeout=10)


def test_normal_runs_may_overlap_each_other(fresh):
    start = (now() + dt.timedelta(seconds=60)).replace(microsecond=0)
    urls = [post_task(fresh, idle("PT2S", test="idlenorm", start=iso(start))) for _ in range(3)]
    assert all(placed(fresh, u, 1)[0][0] == start for u in urls)
    for url in urls:
        fresh.session.delete(url, timeout=10)


def test_higher_priority_preempts_lower(fresh):
    start = (now() + dt.timedelta(seconds=80)).replace(microsecond=0)
    low = post_task(
        fresh, {**idle("PT2S", test="idleex", start=iso(start)), "schema": 3, "priority": 1}
    )
    assert placed(fresh, low, 1)[0][2] == "pending"
    high = post_task(
        fresh, {**idle("PT2S", test="idleex", start=iso(start)), "schema": 3, "priority": 5}
    )
    assert placed(fresh, high, 1)[0][2] == "pending"
    assert wait_for(lambda: run_times(fresh, low)[0][2] == "preempted", what="preemption")
    for url in (low, high):
        fresh.session.delete(url, timeout=10)
