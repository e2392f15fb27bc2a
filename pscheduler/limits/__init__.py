"""The limit system (spec/plugins.md section 8): who may ask for what, and when.

Seam for the API, the scheduler and the commands:

* ``load(text_or_path) -> LimitProcessor`` (raises ``LimitConfigError``), ``inert()``;
* ``LimitProcessor.process(task, hints, rewrite=True, prioritize=False) -> Verdict``;
* ``LimitFile(path)``: hot-reloading holder with ``processor()``, ``process()``, ``status()``;
* ``validate_file(path) -> (ok, message)`` and ``limit_diags(task, hints, ...) -> str``.
"""

from pscheduler.limits.limitfile import LimitFile
from pscheduler.limits.processor import (
    NO_LIMITS,
    LimitConfigError,
    LimitProcessor,
    Verdict,
    inert,
    load,
)
from pscheduler.limits.tools import limit_diags, validate_file

__all__ = [
    "NO_LIMITS",
    "LimitConfigError",
    "LimitFile",
    "LimitProcessor",
    "Verdict",
    "inert",
    "limit_diags",
    "load",
    "validate_file",
]
