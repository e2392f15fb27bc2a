-- Named queries for runs: placement, execution, reading.

-- name: timeline_lock
-- Serialises placement on this node's timeline; the exclusion constraint is the backstop.
SELECT pg_advisory_xact_lock(7081990);

-- name: tasks_to_schedule
SELECT t.*, c.schedule_horizon, c.run_start_margin
FROM task t CROSS JOIN configurables c
WHERE t.enabled AND t.participant = 0 AND t.next_ideal IS NOT NULL
  AND jsonb_array_length(t.participants) = 1  -- others: pscheduler.scheduling.coplace
  AND (t.scheduling_class = 'background-multi'
       OR t.next_ideal <= now() + c.schedule_horizon - t.slip)
  -- within: only the tasks with a run due that soon (the first runs go before the horizon)
  AND (%(within)s::interval IS NULL OR t.next_ideal <= now() + %(within)s::interval)
  AND (t.max_runs IS NULL OR t.max_runs > (
        SELECT count(*) FROM run r WHERE r.task = t.id
          AND (r.started IS NOT NULL OR r.state IN ('scheduling', 'pending', 'on-deck', 'running'))))
ORDER BY t.next_ideal
LIMIT %(limit)s;

-- name: tasks_for_placement
SELECT t.*, c.schedule_horizon, c.run_start_margin,
       (SELECT count(*) FROM run r WHERE r.task = t.id
          AND (r.started IS NOT NULL OR r.state IN ('scheduling', 'pending', 'on-deck', 'running')))
         AS live_runs,
       EXISTS (SELECT 1 FROM run r WHERE r.task = t.id) AS has_runs
FROM task t CROSS JOIN configurables c
WHERE t.id = ANY(%(ids)s) AND t.enabled
ORDER BY t.next_ideal, t.id
FOR UPDATE OF t;

-- name: active_runs_in_window
-- One conflict class at a time (its name reaches the planner as a literal): the exclusive runs
-- come from their own partial index, without reading the normal runs around them.
SELECT r.id, r.conflict_class, lower(r.times) AS lower, upper(r.times) AS upper, r.priority,
       r.uuid AS run_uuid, t.uuid AS task_uuid, t.test_type
FROM run r JOIN task t ON t.id = r.task
WHERE r.active AND r.conflict_class = %(class)s
  AND r.times && tstzrange(%(start)s, %(end)s, '[)');

-- name: preempt_runs
UPDATE run SET state = 'preempted', status = 1,
       result = '{"succeeded": false, "diags": "Run was preempted."}'
WHERE id = ANY(%(ids)s) AND state IN ('pending', 'on-deck', 'scheduling');

-- name: tasks_for_limits
-- tasks_for_placement without the row locks: read before the timeline lock is taken, to ask
-- the limit system about the runs to come while nothing is held.
SELECT t.*, c.schedule_horizon, c.run_start_margin,
       (SELECT count(*) FROM run r WHERE r.task = t.id
          AND (r.started IS NOT NULL OR r.state IN ('scheduling', 'pending', 'on-deck', 'running')))
         AS live_runs,
       EXISTS (SELECT 1 FROM run r WHERE r.task = t.id) AS has_runs
FROM task t CROSS JOIN configurables c
WHERE t.id = ANY(%(ids)s) AND t.enabled
ORDER BY t.next_ideal, t.id;

-- name: next_task_time
-- A task that has all its max-runs is not due (until one of them leaves the timeline):
-- counting it kept the scheduler's wake-up at "now" forever.
SELECT min(t.next_ideal - c.schedule_horizon + t.slip) AS due
FROM task t CROSS JOIN configurables c
WHERE t.enabled AND t.participant = 0 AND t.next_ideal IS NOT NULL
  AND jsonb_array_length(t.participants) = 1
  AND t.scheduling_class <> 'background-multi'
  AND (t.max_runs IS NULL OR t.max_runs > (
        SELECT count(*) FROM run r WHERE r.task = t.id
          AND (r.started IS NOT NULL OR r.state IN ('scheduling', 'pending', 'on-deck', 'running'))));

-- name: next_pending_start
SELECT min(lower(times)) AS start FROM run WHERE state = 'pending';

-- name: run_for_execution
SELECT r.id, r.uuid, lower(r.times) AS start, upper(r.times) AS end, r.state, r.part_data_full,
       r.priority, t.id AS task_id, t.uuid AS task_uuid, t.json AS task_json, t.test_type,
       t.tool, t.participant, t.participants, t.scheduling_class, t.duration, t.enabled,
       c.pause_runs_until > now() AS paused
FROM run r JOIN task t ON t.id = r.task CROSS JOIN control c
WHERE r.id = %(id)s
FOR UPDATE OF r;

-- name: run_missed_paused
-- The lead's merged result says it too, so archives taking failed runs are told.
UPDATE run SET state = 'missed', status = 1,
       result = '{"succeeded": false, "diags": "System was paused."}',
       result_merged = CASE WHEN t.participant = 0
           THEN coalesce(run.result_merged, '{"succeeded": false, "error": "System was paused."}')
           ELSE run.result_merged END
FROM task t
WHERE run.id = %(id)s AND t.id = run.task;

-- name: run_store_merged
-- The first merge stored wins (the runner's, or the ticker's for a run stuck in cleanup): the
-- archivings are created once, when result_merged appears.
UPDATE run SET result_full = %(result_full)s, result_merged = %(result_merged)s,
       clock_survey = %(clock_survey)s, state = %(state)s
WHERE id = %(id)s AND result_merged IS NULL RETURNING state;

-- name: runs_store_local_many
-- The local outcomes of runs that ended together (pscheduler.runs.finish): ``outcomes`` is a
-- JSON object {"<id>": {status, result, errors, state}}, ``ids`` its keys.  Only runs still
-- the runner's (or canceled, which keeps its state): one the ticker ended meanwhile (overdue,
-- with its failure result) returns no row and the runner lets it be.
-- Each run looks its outcome up by key instead of joining a record set: with the statistics
-- of before a burst (no run running), the planner joined the set to the running runs in a
-- nested loop that read the whole set once per running run (500 x 1,000 rows a batch).
-- (A JSON null stays SQL NULL, as jsonb_to_recordset made it.)
WITH given AS (SELECT %(outcomes)s::jsonb AS by_id)
UPDATE run r SET status = (g.by_id -> r.id::text ->> 'status')::integer,
                 result = nullif(g.by_id -> r.id::text -> 'result', 'null'),
                 errors = g.by_id -> r.id::text ->> 'errors',
                 state = g.by_id -> r.id::text ->> 'state'
FROM given g
WHERE r.id = ANY(%(ids)s::bigint[]) AND r.state IN ('running', 'canceled')
RETURNING r.id, r.state;

-- name: runs_store_merged_many
-- run_store_merged for a batch: ``outcomes`` is {"<id>": {result_full, result_merged, state}},
-- ``ids`` its keys (looked up as in runs_store_local_many).
WITH given AS (SELECT %(outcomes)s::jsonb AS by_id)
UPDATE run r SET result_full = nullif(g.by_id -> r.id::text -> 'result_full', 'null'),
                 result_merged = nullif(g.by_id -> r.id::text -> 'result_merged', 'null'),
                 clock_survey = NULL,
                 state = g.by_id -> r.id::text ->> 'state'
FROM given g
WHERE r.id = ANY(%(ids)s::bigint[]) AND r.result_merged IS NULL
RETURNING r.id, r.state;

-- name: run_insert_result_record
INSERT INTO run (uuid, task, times, state, status, result, result_merged, result_full, started)
VALUES (%(uuid)s, %(task)s, tstzrange(now(), now(), '[]'), 'finished', 0, %(result)s, %(result)s,
        jsonb_build_array(%(result)s::jsonb), now());

-- name: runs_orphaned
-- At the runner's start, runs a previous runner left running cannot be resumed: failed, with
-- a failure result (the lead's merged one too, so archives taking failed runs learn of it).
-- (Its on-deck runs had not started: runs_release_deck gives them back first.)
WITH orphan AS (
    SELECT r.id, t.participant = 0 AS lead,
           'The runner stopped while this run was in progress'::text AS reason
    FROM run r JOIN task t ON t.id = r.task
    WHERE r.state = 'running'
    FOR UPDATE OF r
)
UPDATE run SET state = 'failed', status = 2, errors = orphan.reason,
       result = coalesce(run.result, jsonb_build_object('succeeded', false, 'error', orphan.reason)),
       result_merged = CASE WHEN orphan.lead
           THEN coalesce(run.result_merged, jsonb_build_object('succeeded', false, 'error', orphan.reason))
           ELSE run.result_merged END
FROM orphan WHERE run.id = orphan.id
RETURNING run.id;

-- name: runs_release_deck
-- On-deck runs back to pending: a stopping runner's own (runner given), or at a runner's
-- start every one a dead predecessor claimed (runner NULL).
UPDATE run SET state = 'pending', claimed_by = NULL
WHERE state = 'on-deck' AND (%(runner)s::text IS NULL OR claimed_by = %(runner)s)
RETURNING id;

-- name: runs_to_deck
-- The runner's batch claim ahead of the start: pending runs starting within ``ahead`` go on
-- deck for this runner; it starts each at its time (runs_start_many).
UPDATE run SET state = 'on-deck', claimed_by = %(runner)s
WHERE id IN (
    SELECT id FROM run
    WHERE state = 'pending' AND lower(times) <= now() + %(ahead)s::interval
    ORDER BY lower(times)
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING id, lower(times) AS start;

-- name: runs_start_many
-- Start, in one statement, the on-deck runs of this runner whose time has come (started is
-- stamped per row by run_guard); runs of a disabled task or while runs are paused return no
-- row and are sorted out one by one (run_settle_unstarted).
UPDATE run r SET state = 'running'
FROM task t CROSS JOIN control c
WHERE r.id = ANY(%(ids)s) AND t.id = r.task AND r.state = 'on-deck'
  AND r.claimed_by = %(runner)s AND t.enabled
  AND NOT coalesce(c.pause_runs_until > now(), false)
RETURNING r.id, r.uuid, lower(r.times) AS start, upper(r.times) AS end, r.state,
          r.part_data_full, r.priority, t.id AS task_id, t.uuid AS task_uuid,
          t.json AS task_json, t.test_type, t.tool, t.participant, t.participants,
          t.scheduling_class, t.duration, t.enabled, false AS paused;

-- name: missed_cutoff
-- Runs that should have started before this are missed (mark_missed's cut-off).
SELECT now() - run_straggle AS cutoff FROM configurables;

-- name: mark_missed
-- Runs that never started within the straggle: missed, with a failure result (on the lead
-- also as the merged result, so archives taking failed runs are told).  The cut-off comes as
-- a value (missed_cutoff), so the planner knows how few runs are past it: as a subquery it
-- expected a third of all pending runs, and hashed the whole run table to join 5 missed runs
-- back (74 ms at 300k runs), or, limited, scanned the table for the first thousand (200 ms at
-- 1.4M runs for none, every five seconds).  A batch at a time (stuck.MISSED_BATCH), oldest
-- first.
WITH due AS (
    SELECT r.id, t.participant = 0 AS lead,
           coalesce(r.errors, 'The run did not start within ' || c.run_straggle::text
                              || ' of its start time') AS reason
    FROM run r JOIN task t ON t.id = r.task CROSS JOIN configurables c
    WHERE r.state IN ('pending', 'on-deck')
      AND lower(r.times) < %(cutoff)s
    ORDER BY lower(r.times)
    LIMIT %(limit)s
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE run SET state = 'missed', status = 1, errors = due.reason,
       result = coalesce(run.result, jsonb_build_object('succeeded', false, 'error', due.reason)),
       result_merged = CASE WHEN due.lead
           THEN coalesce(run.result_merged, jsonb_build_object('succeeded', false, 'error', due.reason))
           ELSE run.result_merged END
FROM due WHERE run.id = due.id
RETURNING run.id;

-- name: mark_overdue
-- Runs still running past their end plus the straggle (the runner enforces the end, so its
-- process died or lost the database): overdue, with a failure result as for missed runs.
WITH due AS (
    SELECT r.id, t.participant = 0 AS lead,
           coalesce(r.errors, 'The run did not report a result within ' || c.run_straggle::text
                              || ' of its end') AS reason
    FROM run r JOIN task t ON t.id = r.task CROSS JOIN configurables c
    WHERE r.state = 'running'
      AND upper(r.times) < (SELECT now() - run_straggle FROM configurables)
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE run SET state = 'overdue', errors = due.reason,
       result = coalesce(run.result, jsonb_build_object('succeeded', false, 'error', due.reason)),
       result_merged = CASE WHEN due.lead
           THEN coalesce(run.result_merged, jsonb_build_object('succeeded', false, 'error', due.reason))
           ELSE run.result_merged END
FROM due WHERE run.id = due.id
RETURNING run.id;

-- name: runs_in_cleanup
-- Runs whose local result is stored but whose merge never was: past the end plus the
-- straggle plus %(grace)s (the runner's time to gather the participants' results), or every
-- one of them when %(every)s (at the runner's start, when no runner is merging any).
SELECT r.id, r.uuid, lower(r.times) AS start, upper(r.times) AS end, r.result, r.errors,
       t.id AS task_id, t.uuid AS task_uuid, t.json AS task_json, t.test_type, t.tool,
       t.participant, t.participants, t.scheduling_class
FROM run r JOIN task t ON t.id = r.task CROSS JOIN configurables c
WHERE r.state = 'cleanup'
  AND (%(every)s OR upper(r.times) < now() - c.run_straggle - %(grace)s::interval)
ORDER BY upper(r.times)
LIMIT 100;

-- name: runs_next_deadline
-- Seconds until the next run in a transitional state passes its deadline (NULL: none), from
-- the partial indexes on pending/on-deck/running starts and running/cleanup ends.
SELECT extract(epoch FROM least(
           (SELECT min(lower(times)) FROM run WHERE state IN ('pending', 'on-deck'))
               + c.run_straggle,
           (SELECT min(upper(times)) FROM run WHERE state = 'running') + c.run_straggle,
           (SELECT min(upper(times)) FROM run WHERE state = 'cleanup')
               + c.run_straggle + %(grace)s::interval)
       - now()) AS wait
FROM configurables c;

-- name: run_finish_cleanup
-- A stuck cleanup finished from what was stored (or failed with why): only if still stuck.
-- A merged result already there stays (its archivings were made when it appeared).
UPDATE run SET result_full = coalesce(result_full, %(result_full)s),
       result_merged = coalesce(result_merged, %(result_merged)s),
       result = coalesce(result, %(result_merged)s), state = %(state)s,
       errors = coalesce(errors, %(errors)s)
WHERE id = %(id)s AND state = 'cleanup'
RETURNING state;

-- name: delete_stale_scheduling
DELETE FROM run WHERE state = 'scheduling' AND lower(times) < now();

-- name: purge_runs
-- One bounded batch, oldest first (the ticker repeats it while batches come back full): old
-- runs leave at the rate they are made, and no statement holds many row locks for long.
-- (By start, on the run_lower index: an index on the end would cost every insert.)
-- The cut-off is a scalar subquery, not a join with configurables: only a value known before
-- the scan bounds run_lower (joined, the plan walked all of it: 42 s at 1.4M runs, each pass).
-- The batch is collected first (ARRAY: an init plan), then deleted through the primary key.
DELETE FROM run WHERE id = ANY(ARRAY(
    SELECT r.id FROM run r JOIN run_state s ON s.name = r.state
    WHERE lower(r.times) < (SELECT now() - keep_runs_tasks FROM configurables)
      AND upper(r.times) < (SELECT now() - keep_runs_tasks FROM configurables)
      AND (s.finished
           OR upper(r.times) < (SELECT now() - keep_runs_tasks - interval '1 hour'
                                FROM configurables))
    ORDER BY lower(r.times)
    LIMIT %(limit)s
    FOR UPDATE OF r SKIP LOCKED));

-- name: purge_expired_runs
DELETE FROM run WHERE id IN (
    SELECT id FROM run WHERE expires < now() ORDER BY expires LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED);

-- name: purge_tasks
-- Old, ended tasks first (a scan of the task table), then the run probe for those alone: an
-- anti-join of every task against the run table costs a pass over a million runs.
WITH old AS MATERIALIZED (
    SELECT id FROM task
    WHERE coalesce(until, start, added) < (SELECT now() - keep_runs_tasks FROM configurables)
      AND (NOT enabled OR next_ideal IS NULL OR (until IS NOT NULL AND until < now()))
)
DELETE FROM task
WHERE id IN (SELECT id FROM old) AND NOT EXISTS (SELECT 1 FROM run WHERE run.task = task.id);

-- name: wake_scheduler
SELECT pg_notify('schedule_wake', '');

-- name: run_by_uuid
SELECT r.*, lower(r.times) AS start_time, upper(r.times) AS end_time, s.display AS state_display,
       s.finished AS state_finished
FROM run r JOIN run_state s ON s.name = r.state
WHERE r.task = %(task)s AND r.uuid = %(uuid)s AND r.state <> 'scheduling';

-- name: run_first
SELECT r.*, lower(r.times) AS start_time, upper(r.times) AS end_time, s.display AS state_display,
       s.finished AS state_finished
FROM run r JOIN run_state s ON s.name = r.state
WHERE r.task = %(task)s AND r.state <> 'scheduling'
ORDER BY lower(r.times), r.id LIMIT 1;

-- name: run_next
SELECT r.*, lower(r.times) AS start_time, upper(r.times) AS end_time, s.display AS state_display,
       s.finished AS state_finished
FROM run r JOIN run_state s ON s.name = r.state
WHERE r.task = %(task)s AND r.state <> 'scheduling' AND lower(r.times) >= now()
ORDER BY lower(r.times), r.id LIMIT 1;

-- name: runs_latest_final
-- Each task's latest run that has ended (by start time, not after now), for GET
-- /tasks?latest-run: one index probe per task on run_task_times, read backwards from now.
SELECT r.*, lower(r.times) AS start_time, upper(r.times) AS end_time, s.display AS state_display,
       s.finished AS state_finished
FROM unnest(%(tasks)s::bigint[]) AS t(id)
CROSS JOIN LATERAL (
    SELECT * FROM run
    WHERE run.task = t.id AND lower(run.times) <= now()
      AND run.state IN ('finished', 'failed', 'missed', 'nonstart', 'overdue', 'canceled',
                        'preempted')
    ORDER BY lower(run.times) DESC, run.id DESC LIMIT 1) r
JOIN run_state s ON s.name = r.state;

-- name: run_list
SELECT r.uuid FROM run r
WHERE r.task = %(task)s AND r.state <> 'scheduling'
  AND (%(start)s::timestamptz IS NULL OR lower(r.times) >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR upper(r.times) <= %(end)s)
  AND (NOT %(upcoming)s OR ((r.times @> now() OR lower(r.times) > now())
                            AND r.state IN ('pending', 'on-deck', 'running', 'nonstart')))
ORDER BY lower(r.times), r.id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: run_delete
DELETE FROM run WHERE task = %(task)s AND uuid = %(uuid)s RETURNING id;

-- name: schedule_runs
-- The && (closed bounds, NULL: unbounded) lets a window use the run_times GiST index; the
-- exact bounds follow it.  start > end overlaps nothing.
SELECT r.uuid AS run_uuid, lower(r.times) AS start_time, upper(r.times) AS end_time, r.state,
       s.display AS state_display, r.errors, r.priority, t.uuid AS task_uuid, t.json AS task_json,
       t.cli, t.test_type, t.tool, t.scheduling_class
FROM run r JOIN run_state s ON s.name = r.state JOIN task t ON t.id = r.task
WHERE r.times && CASE WHEN %(start)s::timestamptz > %(end)s::timestamptz THEN 'empty'::tstzrange
                      ELSE tstzrange(%(start)s::timestamptz, %(end)s::timestamptz, '[]') END
  AND (%(start)s::timestamptz IS NULL OR upper(r.times) > %(start)s)
  AND (%(end)s::timestamptz IS NULL OR lower(r.times) < %(end)s)
  AND (%(task)s::uuid IS NULL OR t.uuid = %(task)s)
ORDER BY lower(r.times), r.id;

-- name: monitor_runs
(SELECT -1 AS ppf, * FROM (
    SELECT r.uuid AS run_uuid, lower(r.times) AS start_time, upper(r.times) AS end_time, r.state,
           s.display AS state_display, r.priority, t.uuid AS task_uuid, t.json AS task_json, t.cli
    FROM run r JOIN run_state s ON s.name = r.state JOIN task t ON t.id = r.task
    WHERE upper(r.times) < now() AND r.state <> 'scheduling'
    ORDER BY upper(r.times) DESC LIMIT %(window)s) past ORDER BY start_time)
UNION ALL
(SELECT 0, r.uuid, lower(r.times), upper(r.times), r.state, s.display, r.priority, t.uuid, t.json, t.cli
 FROM run r JOIN run_state s ON s.name = r.state JOIN task t ON t.id = r.task
 WHERE r.times @> now() AND r.state <> 'scheduling' ORDER BY lower(r.times))
UNION ALL
(SELECT 1, r.uuid, lower(r.times), upper(r.times), r.state, s.display, r.priority, t.uuid, t.json, t.cli
 FROM run r JOIN run_state s ON s.name = r.state JOIN task t ON t.id = r.task
 WHERE lower(r.times) > now() AND r.state IN ('pending', 'on-deck', 'nonstart')
 ORDER BY lower(r.times) LIMIT %(window)s);

-- name: run_insert
INSERT INTO run (uuid, task, times, state, conflict_class, priority, errors, limit_diags)
VALUES (%(uuid)s, %(task)s, %(times)s, %(state)s, %(conflict_class)s, %(priority)s, %(errors)s,
        %(limit_diags)s);

-- name: runs_insert_many
-- For execute_values: the single placeholder stands for every row.
INSERT INTO run (uuid, task, times, state, conflict_class, priority, status, errors, limit_diags)
VALUES %s;

-- name: tasks_set_next_ideal_many
UPDATE task SET next_ideal = v.next_ideal FROM (VALUES %s) AS v(id, next_ideal)
WHERE task.id = v.id;
