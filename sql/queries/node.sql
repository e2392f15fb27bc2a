-- Named queries of the node (pscheduler/node): metrics, accounting per requester, API tokens.

-- name: metrics_runs_by_state
-- From the kept counts (sql/migrations/015_run_count.sql), never from the run table.
SELECT s.name AS state, coalesce(sum(c.n), 0)::bigint AS count
FROM run_state s LEFT JOIN run_count c ON c.state = s.name
GROUP BY s.name ORDER BY s.name;

-- name: metrics_tasks
SELECT count(*) FILTER (WHERE enabled) AS enabled, count(*) FILTER (WHERE NOT enabled) AS disabled
FROM task;

-- name: metrics_heartbeats
SELECT name, extract(epoch FROM now() - last)::float8 AS age,
       extract(epoch FROM coalesce(now() - (last + next_time), '0'))::float8 AS overdue
FROM heartbeat ORDER BY name;

-- name: metrics_paused
SELECT (pause_runs_until IS NOT NULL AND pause_runs_until > now()) AS paused FROM control;

-- name: metrics_start_lateness
-- How late the runner started runs (started - scheduled start) over a recent window: the
-- latest 1000 starts in it at most (run_started index), so the cost stays flat with 1000 tasks.
SELECT count(*) AS count,
       coalesce(sum(late), 0)::float8 AS sum,
       percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY late) AS quantiles,
       max(late)::float8 AS max
FROM (
    SELECT extract(epoch FROM started - lower(times)) AS late
    FROM run
    WHERE started IS NOT NULL AND started > now() - %(window)s::interval
    ORDER BY started DESC LIMIT 1000
) recent;

-- name: metrics_placement_latency
-- How long the scheduler took to place each task's first run after the task was added, over
-- the latest 1000 tasks of the window (task.first_placed, kept by a trigger: no run probes).
SELECT count(*) AS count,
       coalesce(sum(latency), 0)::float8 AS sum,
       percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY latency) AS quantiles,
       max(latency)::float8 AS max
FROM (
    SELECT extract(epoch FROM first_placed - added) AS latency
    FROM task
    WHERE participant = 0 AND added > now() - %(window)s::interval AND first_placed IS NOT NULL
    ORDER BY added DESC LIMIT 1000
) placed;

-- name: metrics_archiving_backlog
-- Only uncompleted rows have a next attempt (and are unarchived): the partial index of the
-- archiver's candidates bounds the scan to them, not to every archiving kept.
SELECT count(*) FILTER (WHERE next_attempt <= now()) AS backlog,
       count(*) FILTER (WHERE next_attempt > now()) AS upcoming
FROM archiving WHERE NOT completed;

-- name: metrics_http_queue_backlog
SELECT count(*) FILTER (WHERE attempts = 0) AS backlog, count(*) AS length FROM http_queue;

-- name: requester_accounting
-- Per requester address: tasks created, runs run and failed, exclusive seconds used.
WITH tasks AS (
    SELECT coalesce(hints->>'requester', 'unknown') AS requester, count(*) AS tasks
    FROM task
    WHERE (%(start)s::timestamptz IS NULL OR added >= %(start)s::timestamptz)
      AND (%(end)s::timestamptz IS NULL OR added <= %(end)s::timestamptz)
    GROUP BY 1
), runs AS (
    SELECT coalesce(t.hints->>'requester', 'unknown') AS requester,
           count(*) FILTER (WHERE r.started IS NOT NULL) AS runs,
           count(*) FILTER (WHERE s.success IS FALSE) AS failed,
           coalesce(sum(extract(epoch FROM upper(r.times) - lower(r.times)))
               FILTER (WHERE r.conflict_class = 'exclusive' AND r.started IS NOT NULL),
               0)::float8 AS exclusive_seconds
    FROM run r JOIN task t ON t.id = r.task JOIN run_state s ON s.name = r.state
    WHERE (%(start)s::timestamptz IS NULL OR lower(r.times) >= %(start)s::timestamptz)
      AND (%(end)s::timestamptz IS NULL OR lower(r.times) <= %(end)s::timestamptz)
    GROUP BY 1
)
SELECT coalesce(tasks.requester, runs.requester) AS requester,
       coalesce(tasks.tasks, 0) AS tasks, coalesce(runs.runs, 0) AS runs,
       coalesce(runs.failed, 0) AS failed,
       coalesce(runs.exclusive_seconds, 0)::float8 AS exclusive_seconds
FROM tasks FULL JOIN runs ON runs.requester = tasks.requester
ORDER BY exclusive_seconds DESC, runs DESC, tasks DESC, requester;

-- name: token_create
INSERT INTO api_token (name, hash, admin) VALUES (%(name)s, %(hash)s, %(admin)s)
ON CONFLICT (name) DO NOTHING
RETURNING name;

-- name: token_list
SELECT name, admin, created, last_used FROM api_token ORDER BY name;

-- name: token_hashes
SELECT name, hash, admin FROM api_token;

-- name: token_used
UPDATE api_token SET last_used = now() WHERE name = %(name)s;

-- name: token_revoke
DELETE FROM api_token WHERE name = %(name)s;
