"""The run-state vocabulary the server and the CLI share agrees with the database's table."""

from __future__ import annotations

from pscheduler.toolkit import vocabulary as words
from tests.tasks.util import sql


def test_run_states_match_the_run_state_table(node):
    rows = sql(node, "SELECT name, display, finished FROM run_state")
    assert {r["name"]: r["display"] for r in rows} == words.RUN_STATE_DISPLAY
    # ``cleanup`` counts as finished for the database (the tool is done) but not for watchers.
    finished = {r["name"] for r in rows if r["finished"]} - {"cleanup"}
    assert finished == set(words.FINAL_STATES)
    assert set(words.UNFINISHED_STATES) | set(words.FINAL_STATES) == set(words.RUN_STATES)
    assert set(words.NO_RESULT_STATES) <= set(words.FAILED_STATES)


def test_stat_runs_serves_every_counted_state(node):
    for state in words.COUNTED_STATES:
        r = node.get(f"stat/runs/{state}")
        assert r.status_code == 200 and r.text.strip().isdigit(), (state, r.text)
    assert node.get(f"stat/runs/{words.PLACING}").status_code == 404
