"""The lead's duties after a multi-participant run (spec/scheduling.md §4.3).

``collector`` is the ``collect_remote`` hook of ``running.execute``: once the lead's side is
done it fetches every other participant's local result (``GET …/runs/<uuid>?wait-local=true&wait=N``,
in parallel, within one bounded budget) so the tool can merge them.  A participant that does
not answer leaves an error object naming it in its slot.  ``survey_clocks`` records every
participant's clock on a failed run, flagging skew over a second.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from psycopg2.extras import Json

from pscheduler.db import Database
from pscheduler.peers import client as peers
from pscheduler.toolkit.iso8601 import parse_timestamp, utcnow

log = logging.getLogger(__name__)

BUDGET = 15.0  # seconds to wait for the participants' results after the run's end
SKEW = 1.0  # seconds of clock difference worth flagging


def collector(
    db: Database, fallback_bind: str | None = None, budget: float = BUDGET
) -> Callable[[dict, dict], list]:
    """``budget``: seconds after the run's end to wait for the participants' results."""

    def collect(run: dict, local: dict) -> list:
        context = db.one("run_lead_context", {"id": run["id"]})
        if context is None:
            return [local]
        others = list(context["participants"][1:])
        bind = context["lead_bind"] or fallback_bind
        key = context["participant_key"]
        # Long-poll from now on rather than sleeping until the scheduled end: the merged
        # result is there as soon as every side has finished.
        left = max(0.0, (run["end"] - utcnow()).total_seconds())
        deadline = time.monotonic() + min(left, 3600) + budget

        def fetch(host: str) -> dict:
            wait = min(590.0, max(1.0, deadline - time.monotonic()))
            found = peers.get_run(
                host, str(context["task_uuid"]), str(run["uuid"]), key, bind, wait_local=wait
            )
            result = found.get("result") if isinstance(found, dict) else None
            if result is None:
                raise peers.PeerError(host, f"had no result {budget:g} s after the run's end")
            return result

        results = [local]
        for value, err in peers.parallel(others, fetch):
            if err is not None:
                log.warning("Run %s: no result from %s", run["uuid"], err)
                results.append({"succeeded": False, "error": f"No result from {err}"})
            else:
                results.append(value)
        return results

    return collect


def survey_clocks(participants: list[str], me: str, bind: str | None) -> list[dict]:
    """Every participant's clock (ours read over HTTP too, for one time base)."""
    hosts = [me if i == 0 else p for i, p in enumerate(participants)]
    asked = utcnow()
    found = []
    for host, (value, err) in zip(
        hosts, peers.parallel(hosts, lambda h: peers.clock(h, bind)), strict=True
    ):
        if err is not None:
            found.append({"host": host, "error": err.reason})
            continue
        entry = dict(value) if isinstance(value, dict) else {"error": "bad clock answer"}
        entry["host"] = host
        try:
            skew = abs((parse_timestamp(entry["time"]) - asked).total_seconds())
            entry["skewed"] = skew > SKEW + 0.5  # allow for the request's own time
        except (KeyError, TypeError, ValueError):
            pass
        found.append(entry)
    times = []
    for entry in found:
        try:
            times.append(parse_timestamp(entry["time"]))
        except (KeyError, TypeError, ValueError):
            continue
    if len(times) > 1 and max(times) - min(times) > dt.timedelta(seconds=SKEW):
        for entry in found:
            entry.setdefault("skewed", True)
    return found


def record_clock_survey(db: Database, run_id: int, me: str, fallback_bind: str | None) -> None:
    """After a failed multi-participant run: store the participants' clocks with it."""
    context = db.one("run_lead_context", {"id": run_id})
    if context is None or len(context["participants"]) < 2:
        return
    survey = survey_clocks(list(context["participants"]), me, context["lead_bind"] or fallback_bind)
    db.execute("run_set_clock_survey", {"id": run_id, "clock_survey": Json(survey)})
