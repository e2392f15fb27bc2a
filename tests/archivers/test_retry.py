"""Retry-policy arithmetic (plugins.md §7.1) and how archivers turn it into ``retry``."""

from __future__ import annotations

import pytest
from pscheduler_plugins.archivers._shared import failure

from pscheduler.toolkit.retry import retry_after

POLICY = [{"attempts": 2, "wait": "PT10S"}, {"attempts": 1, "wait": "PT1M"}]


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [(0, "PT10S"), (1, "PT10S"), (2, "PT1M"), (3, None), (50, None)],
)
def test_policy_segments_give_the_wait_of_the_segment_holding_the_attempt(attempts, expected):
    assert retry_after(POLICY, attempts) == expected


def test_policy_of_two_and_one_allows_four_tries_in_all():
    tries, waits = 1, []
    while (wait := retry_after(POLICY, tries - 1)) is not None:
        waits.append(wait)
        tries += 1
        assert tries < 100
    assert tries == 4
    assert waits == ["PT10S", "PT10S", "PT1M"]


@pytest.mark.parametrize("policy", [None, []])
def test_no_policy_never_retries(policy):
    assert retry_after(policy, 0) is None


def test_failure_carries_retry_only_while_the_policy_lasts():
    data = {"retry-policy": [{"attempts": 1, "wait": "PT5S"}]}
    first = failure({"data": data, "attempts": 0}, "boom")
    assert first == {"succeeded": False, "error": "boom", "retry": "PT5S"}
    assert failure({"data": data, "attempts": 1}, "boom") == {"succeeded": False, "error": "boom"}
    assert "retry" not in failure({"data": data, "attempts": 0}, "boom", retry=False)
    assert "retry" not in failure({"data": {}, "attempts": 0}, "boom")
