"""The rewriter (schema >= 2): a jq script that may change a task before it is judged.

Helpers for the script: ``classifiers``, ``classifiers_has($name)``, ``hint($name)``,
``change($message)`` and ``reject($message)``.  Unlike the original, the task counts as
rewritten only when the output really differs from the input; ``change()`` messages are
the explanation shown in the diagnostics.
"""

from __future__ import annotations

import copy

from pscheduler.limits.jqscript import JqError, compile_spec

PRIVATE = "__REWRITER_PRIVATE__"

HEADER = " ".join(
    [
        f"def classifiers: .{PRIVATE}.classifiers;",
        f"def classifiers_has($value): .{PRIVATE}.classifiers | contains([$value]);",
        f"def hint($name): .{PRIVATE}.hints[$name];",
        f"def change($message): .{PRIVATE}.changed = true"
        f" | if $message != null then .{PRIVATE}.diags += [$message | tostring] else . end;",
        'def reject($message): error("Task rejected: " + ($message | tostring));',
    ]
)


class RewriteError(ValueError):
    """The script failed, rejected the task or returned something that is not a task."""


class Rewriter:
    def __init__(self, spec: dict):
        self.script = compile_spec(spec, header=HEADER, output_raw=False)

    def __call__(
        self, task: dict, hints: dict, classifications: list[str]
    ) -> tuple[bool, dict, list[str]]:
        """(changed, new task, change messages)."""
        task_in = copy.deepcopy(task)
        task_in[PRIVATE] = {
            "classifiers": classifications,
            "changed": False,
            "diags": [],
            "hints": hints or {},
        }
        try:
            result = self.script.first(task_in)
        except JqError as exc:
            raise RewriteError(str(exc)) from None
        if not isinstance(result, dict) or not isinstance(result.get(PRIVATE), dict):
            raise RewriteError("Invalid rewriter result: the script destroyed its private data")
        private = result.pop(PRIVATE)
        test = result.get("test")
        original_type = (task.get("test") or {}).get("type")
        if (
            not isinstance(test, dict)
            or not isinstance(test.get("type"), str)
            or "spec" not in test
            or test["type"] != original_type
        ):
            raise RewriteError(
                "Invalid rewriter result: the task must keep its test type and have a test spec"
            )
        messages = [str(m) for m in private.get("diags", [])]
        return result != task, result, messages
