"""Pure helpers shared by the core, the CLI and plugins: no database, no web, no daemons."""

from pscheduler.toolkit.iso8601 import (
    duration_to_iso,
    format_timestamp,
    parse_duration,
    parse_timestamp,
    utcnow,
)
from pscheduler.toolkit.jsonval import json_load, sanitize, schema_error, validate_versioned
from pscheduler.toolkit.program import ProgramResult, RunControl, run_program
from pscheduler.toolkit.retry import retry_after

__all__ = [
    "ProgramResult",
    "RunControl",
    "duration_to_iso",
    "format_timestamp",
    "json_load",
    "parse_duration",
    "parse_timestamp",
    "retry_after",
    "run_program",
    "sanitize",
    "schema_error",
    "utcnow",
    "validate_versioned",
]
