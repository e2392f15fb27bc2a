-- Named queries for archiving: claiming due rows under a lease, recording attempts, stats.

-- name: archiving_claim
-- Due rows nobody holds (new ones before retries), locked without waiting on other
-- archivers, then leased to this one; with everything needed to build the record.
WITH due AS (
    SELECT a.id FROM archiving a
    WHERE NOT a.completed AND a.next_attempt <= now()
      AND (a.ttl_expires IS NULL OR a.ttl_expires > now())
      AND (a.lease_until IS NULL OR a.lease_until < now())
    ORDER BY a.attempts, a.next_attempt
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE archiving a SET claimed_by = %(holder)s, lease_until = now() + %(lease)s::interval
    FROM due WHERE a.id = due.id
    RETURNING a.*
)
SELECT c.id AS archiving_id, c.archiver AS archiving_archiver, c.spec AS archiving_spec,
       c.attempts AS archiving_attempts, c.last_attempt AS archiving_last_attempt,
       c.ttl_expires AS archiving_ttl_expires,
       r.*, lower(r.times) AS start_time, upper(r.times) AS end_time,
       s.display AS state_display, s.finished AS state_finished, t.uuid AS task_uuid
FROM claimed c JOIN run r ON r.id = c.run JOIN run_state s ON s.name = r.state
     JOIN task t ON t.id = r.task
ORDER BY c.attempts, c.id;

-- name: archiving_relaxed_commit
-- For claims and outcomes: a commit lost in a crash only means sending a result again.
SET LOCAL synchronous_commit TO OFF;

-- name: archiving_record_attempt
-- Only the holder of the claim may record its outcome (a timed-out attempt that answers late
-- finds the row no longer its own).
UPDATE archiving SET
    attempts = attempts + 1,
    last_attempt = %(time)s,
    completed = %(completed)s,
    archived = %(archived)s,
    completed_at = CASE WHEN %(completed)s THEN now() END,
    next_attempt = %(next_attempt)s,
    diags = diags || jsonb_build_array(%(diag)s::jsonb),
    claimed_by = NULL,
    lease_until = NULL
WHERE id = %(id)s AND claimed_by = %(holder)s AND NOT completed
RETURNING id;

-- name: archiving_expire
-- Rows whose time to live has passed end here, not archived (an attempt in progress is
-- left to finish: its outcome is recorded, then the row expires).
UPDATE archiving SET
    completed = TRUE, archived = FALSE, completed_at = now(), next_attempt = NULL,
    claimed_by = NULL, lease_until = NULL,
    diags = diags || jsonb_build_array(jsonb_build_object(
        'time', %(time)s::text, 'succeeded', FALSE, 'attempt', FALSE,
        'message', 'Time to live expired', 'next-attempt', NULL))
WHERE NOT completed AND ttl_expires <= now()
  AND (lease_until IS NULL OR lease_until < now())
RETURNING id;

-- name: archiving_next_due
-- Seconds until some row not in this archiver's hands becomes due (NULL: none).
WITH due AS (
    -- Actionable at its next attempt or its expiry, whichever is first, but not while
    -- another archiver's lease holds it.
    SELECT min(greatest(least(next_attempt, coalesce(ttl_expires, 'infinity')),
                        coalesce(lease_until, '-infinity'))) AS at
    FROM archiving
    WHERE NOT completed AND claimed_by IS DISTINCT FROM %(holder)s
)
SELECT CASE WHEN at IS NULL THEN NULL
            ELSE extract(epoch FROM greatest(at, now()) - now()) END AS wait
FROM due;

-- name: archiving_renew
UPDATE archiving SET lease_until = now() + %(lease)s::interval
WHERE claimed_by = %(holder)s AND id = ANY(%(ids)s) AND NOT completed;

-- name: archiving_release
-- The claims of a previous archiver that is known dead (this one replaced it).
UPDATE archiving SET claimed_by = NULL, lease_until = NULL
WHERE claimed_by = %(holder)s AND NOT completed
RETURNING id;

-- name: archiver_previous_pid
SELECT pid FROM heartbeat WHERE name = %(name)s;

-- name: archiving_backlog
SELECT count(*) AS count FROM archiving WHERE NOT completed AND next_attempt <= now();

-- name: archiving_upcoming
SELECT count(*) AS count FROM archiving WHERE NOT completed AND next_attempt > now();

-- name: archivings_of_run
SELECT id, archiver, spec, is_default, completed, archived, attempts, last_attempt,
       CASE WHEN next_attempt = '-infinity' THEN added ELSE next_attempt END AS next_attempt,
       ttl_expires, diags
FROM archiving WHERE run = %(run)s ORDER BY id;

-- name: archive_default_clear
DELETE FROM archive_default;

-- name: archive_default_add
INSERT INTO archive_default (source, spec) VALUES (%(source)s, %(spec)s);
