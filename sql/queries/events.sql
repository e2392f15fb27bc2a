-- Named queries for the event log (migration 005).

-- name: events_after
-- New events for the stream's fan-out, oldest first; also re-reads ids that were still
-- uncommitted (gaps) at the previous read.  Each as text: its filter fields, the run (for
-- its href) and its JSON (migration 062).
SELECT id, kind, task_uuid::text, run_uuid::text, test_type, event_json(event)
FROM event
WHERE id > %(after)s OR id = ANY(%(gaps)s::bigint[])
ORDER BY id
LIMIT %(limit)s;

-- name: events_replay
-- A reconnecting client's missed events (Last-Event-ID), filtered as it asked; the columns
-- of events_after.
SELECT id, kind, task_uuid::text, run_uuid::text, test_type, event_json(event)
FROM event
WHERE id > %(after)s AND id <= %(upto)s
  AND (%(tasks)s::uuid[] IS NULL OR task_uuid = ANY(%(tasks)s::uuid[]))
  AND (%(tests)s::text[] IS NULL OR test_type = ANY(%(tests)s::text[]))
  AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
ORDER BY id
LIMIT %(limit)s;

-- name: events_bounds
SELECT coalesce(min(id), 0) AS first, coalesce(max(id), 0) AS last,
       (SELECT last_value FROM event_id_seq) AS seq_last FROM event;

-- name: purge_events
DELETE FROM event USING configurables c WHERE event.time < now() - c.keep_events;
