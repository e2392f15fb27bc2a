"""The archivers' retry-policy arithmetic (a list of ``{attempts, wait}`` segments)."""

from __future__ import annotations


def retry_after(policy: list[dict] | None, attempts: int) -> str | None:
    """The ISO duration to wait before the next try after ``attempts`` prior attempts.

    Walk the segments subtracting each ``attempts``; the first segment that drives the count
    below zero supplies ``wait``; running off the end means give up (None).
    ``[{attempts:2, wait:PT10S},{attempts:1, wait:PT1M}]`` gives 4 tries in all.
    """
    remaining = attempts
    for segment in policy or []:
        remaining -= int(segment["attempts"])
        if remaining < 0:
            return segment["wait"]
    return None
