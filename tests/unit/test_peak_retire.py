"""When an API worker retires after a peak of connections (heap.PeakRetire)."""

from __future__ import annotations

from pscheduler.toolkit.heap import PeakRetire


class Sizes:
    """The process's size as the test sets it."""

    def __init__(self, kb: int) -> None:
        self.kb = kb

    def __call__(self) -> int:
        return self.kb


def _retire(growth: float = 0.1) -> tuple[PeakRetire, Sizes]:
    """A worker's rule as the API's (peak 64, quiet 32), at 1,000 kB."""
    sizes = Sizes(1000)
    return PeakRetire(least=64, quiet=32, growth=growth, size=sizes), sizes


def _peak(retire: PeakRetire, sizes: Sizes, grown_to: int, busy_left: int = 0) -> bool:
    """Quiet at 1,000 kB, a peak of 100 connections, then down to 5 at ``grown_to`` kB,
    ``busy_left`` of them busy (streams, requests)."""
    sizes.kb = 1000
    assert not retire.count(5, 0)
    assert not retire.count(100, 50)
    sizes.kb = grown_to
    return retire.count(5, busy_left)


def test_a_worker_left_bigger_than_the_growth_allows_retires_and_says_why():
    retire, sizes = _retire()
    assert _peak(retire, sizes, 1200)
    assert (
        "1200 kB after a peak of 100 connections, 1000 kB before the first (+20%)" == retire.reason
    )


def test_growth_within_the_bound_is_kept_but_what_peaks_leave_adds_up():
    retire, sizes = _retire()
    assert not _peak(retire, sizes, 1090)
    assert not retire.count(5, 0)  # quiet at its new size: still measured from 1,000 kB
    assert not retire.count(100, 50)
    sizes.kb = 1180
    assert retire.count(0, 0)


def test_a_worker_still_holding_a_stream_or_a_request_waits_for_it():
    retire, sizes = _retire()
    assert not _peak(retire, sizes, 2000, busy_left=1)
    assert retire.count(5, 0)  # the last one is gone: now


def test_a_small_peak_or_a_negative_growth_never_retires():
    small, sizes = _retire()
    assert not small.count(5, 0)
    assert not small.count(63, 10)
    sizes.kb = 5000
    assert not small.count(0, 0)
    never, sizes = _retire(growth=-1)
    assert not _peak(never, sizes, 5000)


def test_more_than_quiet_connections_left_is_still_the_peak():
    retire, sizes = _retire()
    assert not retire.count(5, 0)
    assert not retire.count(100, 0)
    sizes.kb = 2000
    assert not retire.count(40, 0)  # 40 idle clients still there
    assert retire.count(30, 0)
