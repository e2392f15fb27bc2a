"""The scheduler daemon: places runs for the tasks this node leads, up to the horizon.

Wakes at once when a task changes (NOTIFY task_change) or a run leaves the timeline; a slow
timer is only the safety net and the horizon's moving edge.
"""

from __future__ import annotations

import logging

from pscheduler_daemons.loop import run_loop

from pscheduler.config import Config
from pscheduler.limits import LimitFile
from pscheduler.scheduling import coplace as coplacement
from pscheduler.scheduling import place as scheduling
from pscheduler.tasks import mesh as tasking

log = logging.getLogger(__name__)
BATCH = 500
_coordinator = coplacement.Coordinator()
_limits = None  # the node's LimitFile, set in main()


def step(db, notes) -> float:
    multi_wait = _coordinator.step(db)  # multi-participant tasks: placed in threads
    # First the runs due soon, for every task (each batch committed and notified at once)...
    while True:
        done = scheduling.schedule_pass(db, limit=BATCH, limits=_limits, within=scheduling.SOON)
        if done.placed or done.nonstarts:
            log.debug("Placed %d soon run(s), %d non-starter(s)", done.placed, done.nonstarts)
        if done.placed + done.nonstarts == 0:
            break
    # ...then the horizon, a few tasks per transaction; come straight back for more, taking
    # any new task's first runs in between.
    done = scheduling.schedule_pass(db, limit=scheduling.HORIZON_TASKS, limits=_limits)
    if done.placed or done.nonstarts:
        log.debug("Placed %d run(s), %d non-starter(s)", done.placed, done.nonstarts)
        return 0.0
    # Nothing placed although something seems due (a cursor on the horizon's edge, to the
    # second): wait a little rather than asking again at once.
    return min(10.0, multi_wait, max(0.5, scheduling.seconds_until_next_work(db)))


def main(config: Config) -> int:
    global _limits
    _limits = LimitFile(config.limits)
    _coordinator.bind = tasking.default_bind(config)
    _coordinator.limits = _limits
    return run_loop("scheduler", config, ["task_change", "schedule_wake"], step, refresh=10.0)
