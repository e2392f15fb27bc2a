"""jq programs as pScheduler uses them: archive ``transform``s and rabbitmq routing keys.

A transform is ``{script, args?, output-raw?}`` where ``script`` is a string or a list of
lines (joined with newlines, so long programs stay readable in JSON) and ``args`` become
``$name`` variables.  Errors carry jq's own message.
"""

from __future__ import annotations

import json
from typing import Any

import jq


class TransformError(ValueError):
    """A jq transform that does not compile or fails at run time; the text is jq's."""


def _script(transform: Any) -> str:
    if isinstance(transform, dict):
        transform = transform.get("script", ".")
    if isinstance(transform, list):
        if not all(isinstance(line, str) for line in transform):
            raise TransformError("Transform script lines must be strings")
        return "\n".join(transform)
    if not isinstance(transform, str):
        raise TransformError("Transform script must be a string or a list of strings")
    return transform


def compile_transform(transform: Any) -> Any:
    """Compile a transform (``{script, args?, output-raw?}``, a script string or a list of
    lines); TransformError with jq's message when it does not compile."""
    args = transform.get("args") if isinstance(transform, dict) else None
    if args is not None and not isinstance(args, dict):
        raise TransformError("Transform args must be an object")
    try:
        return jq.compile(_script(transform), args=args or {})
    except ValueError as exc:
        raise TransformError(str(exc)) from exc


def compile_error(transform: Any) -> str | None:
    """None when the transform compiles, else why not (for validating a task's archives)."""
    try:
        compile_transform(transform)
    except TransformError as exc:
        return str(exc)
    return None


def run_compiled(program: Any, value: Any, output_raw: bool = False) -> Any:
    """Run a compiled program on ``value``.

    Without ``output-raw`` the first output is the new value (none at all gives None, which
    means "do not archive"); with it, every output is joined into one text, strings
    unquoted, as ``jq -r`` prints them.
    """
    try:
        outputs = program.input_value(value).all()
    except ValueError as exc:
        raise TransformError(str(exc)) from exc
    if output_raw:
        if not outputs:
            return None
        return "\n".join(o if isinstance(o, str) else json.dumps(o) for o in outputs)
    return outputs[0] if outputs else None


def apply_transform(transform: Any, value: Any) -> tuple[Any, str | None]:
    """Apply a transform to a result: ``(new value, None)`` or ``(None, error text)``.

    A None value with no error means the transform asked not to archive this result.
    """
    try:
        program = compile_transform(transform)
        raw = bool(transform.get("output-raw", False)) if isinstance(transform, dict) else False
        return run_compiled(program, value, raw), None
    except TransformError as exc:
        return None, str(exc)
