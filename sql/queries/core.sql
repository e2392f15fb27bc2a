-- Named queries of the foundation: settings, heartbeats, status, run counts.

-- name: configurables
SELECT schedule_horizon, keep_runs_tasks, run_straggle, run_start_margin FROM configurables;

-- name: heartbeat_boot
INSERT INTO heartbeat (name, started, updates, last, next_time, pid)
VALUES (%(name)s, now(), 1, now(), %(next_time)s, %(pid)s)
ON CONFLICT (name) DO UPDATE
    SET started = now(), updates = 1, last = now(), next_time = EXCLUDED.next_time,
        pid = EXCLUDED.pid;

-- name: heartbeat
INSERT INTO heartbeat (name, started, updates, last, next_time, pid)
VALUES (%(name)s, now(), 1, now(), %(next_time)s, %(pid)s)
ON CONFLICT (name) DO UPDATE
    SET updates = heartbeat.updates + 1, last = now(), next_time = EXCLUDED.next_time,
        pid = EXCLUDED.pid;

-- name: heartbeats
SELECT name, started, updates, last, next_time,
       now() - started AS uptime,
       last + next_time AS expected,
       CASE WHEN last + next_time < now() THEN now() - (last + next_time) END AS overdue
FROM heartbeat ORDER BY name;

-- name: runs_last_times
SELECT (SELECT max(upper(times)) FROM run WHERE state = 'finished') AS last_finished,
       (SELECT max(added) FROM run) AS last_scheduled;

-- name: pause_state
SELECT pause_runs_until,
       pause_runs_until IS NOT NULL AND pause_runs_until > now() AS is_paused,
       pause_runs_until = 'infinity' AS infinite,
       CASE WHEN pause_runs_until > now() AND pause_runs_until <> 'infinity'
            THEN pause_runs_until - now() END AS remaining
FROM control;

-- name: pause
UPDATE control SET pause_runs_until = CASE WHEN %(duration)s::interval IS NULL THEN 'infinity'
                                           ELSE now() + %(duration)s::interval END;

-- name: resume
UPDATE control SET pause_runs_until = NULL;

-- name: count_runs_in_state_all
-- Every run in the state, from the kept counts.
SELECT coalesce(sum(n), 0)::bigint AS count FROM run_count WHERE state = %(state)s;

-- name: count_runs_in_state
-- Runs in the state starting in a window (the run_lower index bounds the scan).
SELECT count(*) AS count FROM run
WHERE state = %(state)s
  AND (%(start)s::timestamptz IS NULL OR lower(times) >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR lower(times) <= %(end)s);

-- name: run_count_compact
-- Folds run_count's deltas into one row per (task, state, started) and drops groups at zero.
-- Rows another compaction holds are skipped (SKIP LOCKED), so this never waits: any partition
-- of the deltas sums to the same counts.
WITH gone AS (
    DELETE FROM run_count WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM run_count FOR UPDATE SKIP LOCKED))
    RETURNING task, state, started, n
)
INSERT INTO run_count (task, state, started, n)
SELECT task, state, started, sum(n) FROM gone GROUP BY 1, 2, 3 HAVING sum(n) <> 0;
