"""The prioritizer (schema >= 3): a jq script that sets a run's priority.

Helpers: ``classifiers``, ``classifiers_has($c)``, ``default`` (0), ``requested`` (the
task's ``priority``), ``priority`` (current value), ``note($msg)``, ``set($value; $msg)``
and ``adjust($delta; $msg)``.
"""

from __future__ import annotations

import copy

from pscheduler.limits.jqscript import JqError, compile_spec

PRIVATE = "__PRIORITIZER_PRIVATE__"
DEFAULT = 0

HEADER = " ".join(
    [
        f"def classifiers: .{PRIVATE}.classifiers;",
        f"def classifiers_has($value): .{PRIVATE}.classifiers | contains([$value]);",
        f"def default: {DEFAULT};",
        "def requested: .priority;",
        f"def note($message): if $message != null then .{PRIVATE}.diags += [$message | tostring] else . end;",
        f"def priority: .{PRIVATE}.priority;",
        f'def set($value; $message): .{PRIVATE}.priority = $value | note("\\($message)  (Set to \\($value))");',
        f"def adjust($value; $message): .{PRIVATE}.priority += $value"
        ' | note("\\($message)  (\\(if $value >= 0 then "+" else "-" end)\\($value | length))");',
    ]
)


class PriorityError(ValueError):
    """The script failed or left no usable integer priority."""


class Prioritizer:
    def __init__(self, spec: dict):
        self.script = compile_spec(spec, header=HEADER, output_raw=False)

    def __call__(self, task: dict, classifications: list[str]) -> tuple[int, list[str]]:
        task_in = copy.deepcopy(task)
        task_in[PRIVATE] = {"classifiers": classifications, "priority": DEFAULT, "diags": []}
        try:
            result = self.script.first(task_in)
        except JqError as exc:
            raise PriorityError(str(exc)) from None
        try:
            private = result[PRIVATE]
            priority, notes = private["priority"], private["diags"]
        except (KeyError, TypeError):
            raise PriorityError("Prioritizer destroyed private data") from None
        if isinstance(priority, float) and priority.is_integer():
            priority = int(priority)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise PriorityError(
                f"Prioritizer produced a priority that is not an integer: {priority!r}"
            )
        return priority, [str(n) for n in notes]
