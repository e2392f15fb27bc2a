"""The runner's timers (pscheduler.runs.timers) and what it accepts from a tool's ``timed``."""

from __future__ import annotations

import datetime as dt
import threading

from pscheduler.runs.execute import usable_timed
from pscheduler.runs.timers import Timers


def _utc(seconds: float = 0.0) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)


def test_timers_fire_in_time_order_and_a_cancelled_one_never_fires():
    timers = Timers()
    fired: list[str] = []
    last = threading.Event()

    def fire(name: str):
        def call() -> None:
            fired.append(name)
            if name == "c":
                last.set()

        return call

    timers.add(_utc(0.3), "c", fire("c"))
    timers.add(_utc(0.1), "a", fire("a"))
    timers.add(_utc(0.2), "b", fire("b"))
    timers.add(_utc(0.15), "x", fire("x"))
    assert timers.cancel("x") is True
    assert last.wait(5), fired
    assert fired == ["a", "b", "c"]
    assert timers.cancel("a") is False  # fired already


def test_a_key_set_again_fires_at_its_new_time_only():
    timers = Timers()
    fired: list[float] = []
    done = threading.Event()
    timers.add(_utc(0.05), "k", lambda: fired.append(1.0))
    timers.cancel("k")
    timers.add(_utc(0.2), "k", lambda: (fired.append(2.0), done.set()))
    assert done.wait(5)
    assert fired == [2.0]


def test_only_an_aware_end_and_a_result_are_held_as_a_timer():
    result = {"succeeded": True}
    end = _utc(5)
    assert usable_timed((end, result)) == (end, result)
    assert usable_timed(None) is None
    assert usable_timed((end.replace(tzinfo=None), result)) is None  # naive: heap would break
    assert usable_timed(("soon", result)) is None
    assert usable_timed((end, {"ok": 1})) is None
    assert usable_timed((end, result, "extra")) is None
    assert usable_timed([end, result]) is None
