"""Every named query in sql/queries/*.sql is used by the code: none is left behind dead."""

from __future__ import annotations

import re
from pathlib import Path

from pscheduler.db import _load_queries

ROOT = Path(__file__).resolve().parent.parent


def test_every_named_query_is_referenced_from_python():
    source = "\n".join(
        path.read_text()
        for folder in ("pscheduler", "daemons")
        for path in (ROOT / folder).rglob("*.py")
    )
    names = _load_queries()  # what the database layer loads (and refuses duplicates in)
    assert names, "no named queries found"
    unused = sorted(n for n in names if not re.search(rf"[\"']{re.escape(n)}[\"']", source))
    assert unused == [], f"named queries nobody runs: {unused}"
