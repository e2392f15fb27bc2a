"""Words the server and the CLI share: run states and scheduling classes, in one place.

The run states mirror the ``run_state`` table (sql/migrations/001_core.sql); a test checks
that they agree.
"""

from __future__ import annotations

# Scheduling classes whose runs may happen at any time (no exclusive slot on the timeline).
ANYTIME = ("background", "background-multi")

# Every run state, in the order of a run's life, with the name the API shows for it.
RUN_STATE_DISPLAY: dict[str, str] = {
    "scheduling": "Scheduling",
    "pending": "Pending",
    "on-deck": "On Deck",
    "running": "Running",
    "cleanup": "Cleanup",
    "finished": "Finished",
    "overdue": "Overdue",
    "missed": "Missed",
    "failed": "Failed",
    "preempted": "Preempted",
    "nonstart": "Non-Starter",
    "canceled": "Canceled",
}
RUN_STATES = tuple(RUN_STATE_DISPLAY)

# A run the lead is still placing on the participants' timelines: not yet a run to count.
PLACING = "scheduling"
# States ``/stat/runs/<state>`` counts (every state but the lead's transient one).
COUNTED_STATES = tuple(s for s in RUN_STATES if s != PLACING)
# A run in one of these is over for whoever watches it: nothing more will happen to it
# (``overdue`` may still turn ``finished`` or ``failed`` on the lead, but it did not finish
# in its time).
FINAL_STATES = ("finished", "overdue", "missed", "failed", "preempted", "nonstart", "canceled")
# Not over yet.
UNFINISHED_STATES = tuple(s for s in RUN_STATES if s not in FINAL_STATES)
# Over without success.
FAILED_STATES = tuple(s for s in FINAL_STATES if s != "finished")
# Over without a result and none will come (the tool did not run to completion).
NO_RESULT_STATES = ("overdue", "missed", "preempted", "nonstart", "canceled")
