-- Named queries for tasks and runs shared between nodes (lead and participants).

-- name: task_enable
UPDATE task SET enabled = TRUE WHERE uuid = %(uuid)s;

-- name: multi_tasks_to_schedule
-- Enabled tasks this node leads with other participants, due for their next run: its window
-- must end within the horizon (as the original) and begin within multi_horizon (migration 019).
SELECT t.id, t.uuid, t.next_ideal
FROM task t CROSS JOIN configurables c
WHERE t.enabled AND t.participant = 0 AND t.next_ideal IS NOT NULL
  AND jsonb_array_length(t.participants) > 1
  AND t.next_ideal <= now() + least(c.schedule_horizon - t.slip, c.multi_horizon)
  AND (t.max_runs IS NULL OR t.max_runs > (
        SELECT count(*) FROM run r WHERE r.task = t.id
          AND (r.started IS NOT NULL OR r.state IN ('scheduling', 'pending', 'on-deck', 'running'))))
ORDER BY t.next_ideal
LIMIT 100;

-- name: multi_next_task_time
SELECT min(t.next_ideal - least(c.schedule_horizon - t.slip, c.multi_horizon)) AS due
FROM task t CROSS JOIN configurables c
WHERE t.enabled AND t.participant = 0 AND t.next_ideal IS NOT NULL
  AND jsonb_array_length(t.participants) > 1;

-- name: multi_task
SELECT t.*, c.schedule_horizon, c.run_start_margin,
       (SELECT count(*) FROM run r WHERE r.task = t.id) AS runs,
       (SELECT count(*) FROM run r WHERE r.task = t.id
          AND (r.started IS NOT NULL OR r.state IN ('scheduling', 'pending', 'on-deck', 'running')))
         AS live_runs
FROM task t CROSS JOIN configurables c
WHERE t.id = %(id)s;

-- name: multi_set_next_ideal
-- Advance the cursor only if nobody else moved it (a cancel, another scheduler).
UPDATE task SET next_ideal = %(next_ideal)s WHERE id = %(id)s AND next_ideal = %(was)s
RETURNING id;

-- name: run_nonstart_insert
INSERT INTO run (uuid, task, times, state, conflict_class, priority, status, errors)
VALUES (%(uuid)s, %(task)s, tstzrange(%(start)s, %(end)s, '[)'), 'nonstart', NULL, %(priority)s,
        1, %(errors)s);

-- name: run_set_part_data
UPDATE run SET part_data = %(part_data)s WHERE id = %(id)s;

-- name: run_set_part_data_full
UPDATE run SET part_data_full = %(part_data_full)s WHERE task = %(task)s AND uuid = %(uuid)s
RETURNING id;

-- name: run_make_pending
-- The run becomes visible: waiters on run_new (GET runs/first) learn of it at once.
WITH made AS (
    UPDATE run SET state = 'pending', part_data_full = %(part_data_full)s
    WHERE uuid = %(uuid)s AND state = 'scheduling' RETURNING id
)
SELECT id, pg_notify('run_new', '') FROM made;

-- name: run_any_by_uuid
SELECT r.*, lower(r.times) AS start_time, upper(r.times) AS end_time
FROM run r WHERE r.task = %(task)s AND r.uuid = %(uuid)s;

-- name: run_delete_by_uuid
DELETE FROM run WHERE uuid = %(uuid)s RETURNING id;

-- name: run_store_result_full
UPDATE run SET result_full = %(result_full)s,
       state = CASE WHEN %(succeeded)s THEN 'finished' ELSE 'failed' END
WHERE task = %(task)s AND uuid = %(uuid)s RETURNING id;

-- name: run_set_clock_survey
UPDATE run SET clock_survey = %(clock_survey)s WHERE id = %(id)s;

-- name: run_lead_context
SELECT r.uuid, t.uuid AS task_uuid, t.participants, t.participant_key, t.lead_bind,
       t.json AS task_json
FROM run r JOIN task t ON t.id = r.task WHERE r.id = %(id)s;

-- name: http_queue_insert
INSERT INTO http_queue (method, url, params, body, bind)
VALUES (%(method)s, %(url)s, %(params)s, %(body)s, %(bind)s);

-- name: http_queue_due
SELECT * FROM http_queue WHERE next_attempt <= now() ORDER BY next_attempt
LIMIT %(limit)s FOR UPDATE SKIP LOCKED;

-- name: http_queue_done
DELETE FROM http_queue WHERE id = %(id)s;

-- name: http_queue_retry
UPDATE http_queue SET attempts = attempts + 1, last_attempt = now(), last_error = %(error)s,
       next_attempt = now() + %(delay)s::interval
WHERE id = %(id)s;

-- name: http_queue_expire
DELETE FROM http_queue WHERE expires < now() RETURNING id, method, url, last_error;

-- name: http_queue_next
SELECT min(next_attempt) AS due FROM http_queue;

-- name: http_queue_counts
SELECT count(*) FILTER (WHERE attempts = 0) AS backlog, count(*) AS length FROM http_queue;
