"""jq transform specs (``{script, args?, output-raw?}``) compiled once and run many times.

Limit files use jq in identifiers, limits, the rewriter and the prioritizer.  This module
joins multi-line scripts, prepends helper definitions without shifting the user's line
numbers (helpers and hoisted ``import``/``include`` lines all go on line 1), and points
``import "pscheduler/..."`` at the library shipped in ``jqlib/``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jq

LIBRARY = Path(__file__).parent / "jqlib"

_IMPORT_RE = re.compile(
    r"^\s*(import|include)\s+(\"[^\"]*\")(\s+as\s+\$?[A-Za-z_][A-Za-z0-9_]*)?\s*(\{.*\})?\s*;\s*$"
)


class JqError(ValueError):
    """A jq script failed to compile or run; the message is jq's, without its noise."""


def script_text(spec: dict) -> str:
    """The script of a transform spec as one string (arrays are lines)."""
    script = spec["script"]
    return "\n".join(script) if isinstance(script, list) else script


def _clean(message: str) -> str:
    lines = [
        line
        for line in str(message).splitlines()
        if not re.match(r"^jq: \d+ compile errors?$", line)
    ]
    text = "\n".join(lines).strip()
    return text.removeprefix("jq: error: ").removeprefix("jq: error (at <unknown>): ")


def _hoist_imports(script: str) -> tuple[str, str]:
    """Move import/include lines out (leaving blank lines) and give pscheduler/ ones our path."""
    hoisted = []
    lines = []
    for line in script.split("\n"):
        match = _IMPORT_RE.match(line)
        if match is None:
            lines.append(line)
            continue
        keyword, path, alias, meta = match.groups()
        if meta is None and path.startswith('"pscheduler/'):
            meta = f"{{search: {json.dumps(str(LIBRARY))}}}"
        hoisted.append(
            " ".join(part for part in (keyword, path, (alias or "").strip(), meta) if part) + ";"
        )
        lines.append("")
    return " ".join(hoisted), "\n".join(lines)


class JqScript:
    """A compiled transform spec.  ``header`` is jq definitions prepended on line 1."""

    def __init__(self, spec: dict, header: str = "", output_raw: bool | None = None):
        imports, body = _hoist_imports(script_text(spec))
        self.output_raw = spec.get("output-raw", False) if output_raw is None else output_raw
        args = spec.get("args", {}) or {}
        program = f"{imports} {header} {body}" if (imports or header) else body
        try:
            self._program = jq.compile(program, args=args)
        except Exception as exc:  # jq raises ValueError; be safe about the rest
            raise JqError(_clean(str(exc))) from None

    def all(self, value: Any) -> list:
        """Every output of the script on ``value``."""
        try:
            out = self._program.input_value(value).all()
        except Exception as exc:
            raise JqError(_clean(str(exc))) from None
        if self.output_raw:
            return [o if isinstance(o, str) else json.dumps(o) for o in out]
        return out

    def first(self, value: Any) -> Any:
        """The first output, JqError when the script produced nothing."""
        out = self.all(value)
        if not out:
            raise JqError("Script produced no output")
        return out[0]

    def raw_text(self, value: Any) -> str:
        """All outputs as text, one per line (jq's -r)."""
        return "\n".join(o if isinstance(o, str) else json.dumps(o) for o in self.all(value))


def compile_spec(spec: dict, header: str = "", output_raw: bool | None = None) -> JqScript:
    """Compile a transform spec; JqError with jq's message when it does not compile."""
    return JqScript(spec, header, output_raw)
