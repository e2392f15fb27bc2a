-- Named queries for tasks.

-- name: task_insert
INSERT INTO task (uuid, json, test_type, tool, scheduling_class, participants, participant,
                  participant_key, enabled, hints, diags, cli, priority, start, slip, sliprand,
                  duration, post, repeat, repeat_cron, until, max_runs, next_ideal,
                  keep_after_archive, lead_bind)
VALUES (%(uuid)s, %(json)s, %(test_type)s, %(tool)s, %(scheduling_class)s, %(participants)s,
        %(participant)s, %(participant_key)s, %(enabled)s, %(hints)s, %(diags)s, %(cli)s,
        %(priority)s, %(start)s, %(slip)s, %(sliprand)s, %(duration)s, %(post)s, %(repeat)s,
        %(repeat_cron)s, %(until)s, %(max_runs)s, %(next_ideal)s, %(keep_after_archive)s,
        %(lead_bind)s)
RETURNING id, uuid, added;

-- name: task_by_uuid
SELECT t.*,
       c.runs, c.runs_started
FROM task t CROSS JOIN LATERAL (
    SELECT coalesce(sum(n), 0)::bigint AS runs,
           coalesce(sum(n) FILTER (WHERE started), 0)::bigint AS runs_started
    FROM run_count WHERE run_count.task = t.id) c
WHERE t.uuid = %(uuid)s;

-- name: task_row_by_uuid
-- The task alone, for the routes that act on it or its runs (no run counts to sum).
SELECT t.* FROM task t WHERE t.uuid = %(uuid)s;

-- name: task_list
-- Counts from run_count; paged in (added, id) order (task_added index); LIMIT NULL is all.
SELECT t.*,
       c.runs, c.runs_started
FROM task t CROSS JOIN LATERAL (
    SELECT coalesce(sum(n), 0)::bigint AS runs,
           coalesce(sum(n) FILTER (WHERE started), 0)::bigint AS runs_started
    FROM run_count WHERE run_count.task = t.id) c
WHERE task_matches(t, %(json)s::jsonb)
ORDER BY t.added, t.id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: task_uuid_list
-- GET /tasks without ?expanded wants URLs only: no counts, no task bodies to decode, and the
-- JSON array of URLs made here, as text, sent as it is (with 10,000 tasks, a row and a dict
-- per task cost the API more than the query).  Same filter and order as task_list, read from
-- the task_added index alone.  ``prefix`` is the opening quote and the JSON-escaped base URL
-- with its slash (made once by the caller): json_agg escaped every URL character by character,
-- two thirds of the query's time with 5,000 tasks.  The list comes in pieces of 64 URLs (the
-- caller joins them with commas): as one value, 540 kB with 6,000 tasks, libpq grew the
-- input buffer of every pooled connection that fetched it to 1 MB, and kept it so for the
-- connection's life (bench/scale.py: +2 MB per API worker).  With the list's version
-- (migration 061), read in the same snapshot; when it is ``kept``, the version a caller's
-- copy was read at, the list is not made: one row, version and NULL.
SELECT v.version, p.urls
FROM task_list_version v
LEFT JOIN LATERAL (
    SELECT (n.n - 1) / 64 AS piece,
           string_agg(%(prefix)s || n.uuid::text || '"', ',' ORDER BY n.n) AS urls
    FROM (SELECT t.uuid, row_number() OVER (ORDER BY t.added, t.id) AS n
          FROM (SELECT t.uuid, t.added, t.id FROM task t
                WHERE v.version IS DISTINCT FROM %(kept)s::bigint
                  AND task_matches(t, %(json)s::jsonb)
                ORDER BY t.added, t.id
                LIMIT %(limit)s OFFSET %(offset)s) t) n
    GROUP BY 1
) p ON TRUE
ORDER BY p.piece;

-- name: task_disable
-- Cancelling: future runs go, the current one is canceled; the task stays readable.
WITH t AS (
    UPDATE task SET enabled = FALSE WHERE id = %(id)s RETURNING id
), gone AS (
    DELETE FROM run WHERE task IN (SELECT id FROM t) AND lower(times) > now()
        AND state IN ('scheduling', 'pending', 'on-deck', 'nonstart')
    RETURNING id
)
UPDATE run SET state = 'canceled'
WHERE task IN (SELECT id FROM t) AND times @> now() AND state NOT IN ('nonstart', 'canceled')
  AND NOT (SELECT finished FROM run_state WHERE name = run.state)
RETURNING id;
