"""What the ``validate-limits`` and ``limit-diags`` commands print, as plain functions."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pscheduler.config import default_limits_path
from pscheduler.limits.processor import LimitConfigError, inert, load
from pscheduler.toolkit import (
    duration_to_iso,
    format_timestamp,
    parse_duration,
    parse_timestamp,
    utcnow,
)

DEFAULT_TASK = {
    "schema": 1,
    "test": {"type": "idle", "spec": {"schema": 1, "duration": "PT2S"}},
    "schedule": {},
}

DEFAULT_HINTS = {"requester": "127.0.0.1", "server": "127.0.0.1"}


def validate_file(path: str | os.PathLike) -> tuple[bool, str]:
    """(True, "Limit configuration is valid.") or (False, "Limit configuration is invalid:\\n<why>")."""
    try:
        load(Path(path))
    except LimitConfigError as exc:
        return False, f"Limit configuration is invalid:\n{exc}"
    return True, "Limit configuration is valid."


def limit_diags(
    task: dict | None,
    hints: dict | None,
    start: str | None = None,
    duration: str | None = None,
    path: str | os.PathLike | None = None,
) -> str:
    """The text ``pscheduler-server limit-diags`` prints (spec/plugins.md section 8.10).

    ``task`` None means the built-in idle task; ``hints`` None means loopback for both
    requester and server; ``start``/``duration`` add a ``run_schedule``; ``path`` None means
    the default limit file (absent file = inert).  Raises LimitConfigError when the file
    is unusable, ValueError for a bad start or duration.
    """
    lines: list[str] = []
    if task is None:
        task = json.loads(json.dumps(DEFAULT_TASK))
        lines.append("Using built-in default task.")
    hints = dict(DEFAULT_HINTS) if hints is None else hints
    file_path = Path(path or default_limits_path())
    processor = load(file_path) if file_path.exists() or path is not None else inert()
    if start is not None or duration is not None:
        when = parse_timestamp(start) if start is not None else utcnow()
        length = parse_duration(duration if duration is not None else "PT10S")
        task = dict(
            task,
            run_schedule={"start": format_timestamp(when), "duration": duration_to_iso(length)},
        )
        lines.append(
            f"For task starting at {format_timestamp(when)} lasting {duration_to_iso(length)}:"
        )
    verdict = processor.process(task, hints, rewrite=True, prioritize=True)
    lines.append(verdict.diags)
    if processor.has_rewriter:
        lines += ["", "Rewritten task:", json.dumps(verdict.task, sort_keys=True, indent=4)]
    return "\n".join(lines)
