-- Named queries of the monitor (/m1/, pscheduler/monitor): Panoptes workflows and jobs.
-- Run-state groupings arrive as arrays from pscheduler/monitor/panoptes.py so the mapping lives
-- in one place.

-- name: panoptes_task_workflows
-- Tasks seen as workflows, with their runs counted by Panoptes status.  Counts come from
-- run_count; the first start and the last finished run are index probes around now (a done
-- run in the future can only be a failure state, which run_task_failed indexes).
SELECT t.uuid AS id, t.test_type, t.tool, t.json, t.enabled, t.added,
       t.enabled AND t.next_ideal IS NOT NULL AS more_to_come,
       c.jobs_total, c.jobs_done, c.jobs_running, c.jobs_pending, c.jobs_cancelled,
       first.started AS started_at,
       -- Cancelled future runs end "now", never in the future.
       CASE WHEN future.state IS NOT NULL THEN now() ELSE least(past.upper, now()) END
           AS completed_at,
       coalesce(future.state, past.state) AS last_done_state
FROM task t
CROSS JOIN LATERAL (
    SELECT coalesce(sum(n), 0)::bigint AS jobs_total,
           coalesce(sum(n) FILTER (WHERE state = ANY(%(done)s)), 0)::bigint AS jobs_done,
           coalesce(sum(n) FILTER (WHERE state = ANY(%(running)s)), 0)::bigint AS jobs_running,
           coalesce(sum(n) FILTER (WHERE state = ANY(%(pending)s)), 0)::bigint AS jobs_pending,
           coalesce(sum(n) FILTER (WHERE state = 'canceled'), 0)::bigint AS jobs_cancelled
    FROM run_count WHERE run_count.task = t.id) c
LEFT JOIN LATERAL (
    SELECT r.started FROM run r
    WHERE r.task = t.id AND lower(r.times) <= now() AND r.started IS NOT NULL
    ORDER BY lower(r.times), r.id LIMIT 1) first ON TRUE
LEFT JOIN LATERAL (
    SELECT upper(r.times) AS upper, r.state FROM run r
    WHERE r.task = t.id AND lower(r.times) <= now() AND r.state = ANY(%(done)s)
    ORDER BY lower(r.times) DESC, r.id DESC LIMIT 1) past ON TRUE
LEFT JOIN LATERAL (
    SELECT r.state FROM run r
    WHERE r.task = t.id AND lower(r.times) > now() AND r.state = ANY(%(done)s)
      AND r.state IN ('failed', 'missed', 'overdue', 'nonstart', 'preempted', 'canceled')
    ORDER BY lower(r.times) DESC, r.id DESC LIMIT 1) future ON TRUE
WHERE %(uuid)s::uuid IS NULL OR t.uuid = %(uuid)s::uuid
ORDER BY t.added, t.id;

-- name: panoptes_task_jobs
-- The runs of one task seen as jobs.
SELECT r.uuid AS jobid, t.uuid AS workflow_id, t.test_type, r.state, rs.display,
       r.started, lower(r.times) AS start_time, upper(r.times) AS end_time, r.errors
FROM run r
JOIN task t ON t.id = r.task
JOIN run_state rs ON rs.name = r.state
WHERE t.uuid = %(task)s::uuid AND (%(run)s::uuid IS NULL OR r.uuid = %(run)s::uuid)
ORDER BY lower(r.times), r.id;

-- name: monitor_workflow_create
INSERT INTO monitor_workflow (id, name, creator, key_hash)
VALUES (%(id)s, %(name)s, %(creator)s, %(key_hash)s) RETURNING id;

-- name: monitor_workflow_owner
SELECT creator, key_hash FROM monitor_workflow WHERE id = %(id)s;

-- name: monitor_workflows
-- Workflows reported by outside clients, with their jobs counted by status.
SELECT w.id, w.name, w.created, w.jobs_total AS reported_total, w.jobs_done AS reported_done,
       count(j.jobid) AS jobs_total,
       count(j.jobid) FILTER (WHERE j.status IN ('completed', 'error', 'cancelled')) AS jobs_done,
       count(j.jobid) FILTER (WHERE j.status = 'running') AS jobs_running,
       count(j.jobid) FILTER (WHERE j.status = 'pending') AS jobs_pending,
       count(j.jobid) FILTER (WHERE j.status = 'error') AS jobs_error,
       count(j.jobid) FILTER (WHERE j.status = 'cancelled') AS jobs_cancelled,
       count(j.jobid) FILTER (WHERE j.status = 'completed') AS jobs_completed,
       min(j.started_at) AS started_at,
       max(j.completed_at) AS completed_at
FROM monitor_workflow w LEFT JOIN monitor_job j ON j.workflow = w.id
WHERE %(id)s::uuid IS NULL OR w.id = %(id)s::uuid
GROUP BY w.id
ORDER BY w.created, w.id;

-- name: monitor_workflow_touch
-- Marks a workflow updated; progress counters only change when the client sent them.
UPDATE monitor_workflow
SET updated = now(),
    jobs_total = coalesce(%(jobs_total)s, jobs_total),
    jobs_done = coalesce(%(jobs_done)s, jobs_done)
WHERE id = %(id)s::uuid
RETURNING id;

-- name: monitor_job_upsert
-- One job update: fields the message left out keep their values; the first start sticks.
INSERT INTO monitor_job (workflow, jobid, jobid_raw, name, input, output, status, started_at,
                         completed_at, log, message, wildcards, is_checkpoint)
VALUES (%(workflow)s::uuid, %(jobid)s, %(jobid_raw)s::jsonb, %(name)s,
        coalesce(%(input)s::jsonb, '[]'), coalesce(%(output)s::jsonb, '[]'),
        coalesce(%(status)s::text, 'running'), %(started_at)s::timestamptz,
        %(completed_at)s::timestamptz, %(log)s, %(message)s::jsonb, %(wildcards)s::jsonb,
        %(is_checkpoint)s::boolean)
ON CONFLICT (workflow, jobid) DO UPDATE SET
    name = coalesce(EXCLUDED.name, monitor_job.name),
    input = coalesce(%(input)s::jsonb, monitor_job.input),
    output = coalesce(%(output)s::jsonb, monitor_job.output),
    status = coalesce(%(status)s::text, monitor_job.status),
    started_at = coalesce(monitor_job.started_at, EXCLUDED.started_at),
    completed_at = CASE WHEN %(status)s::text IS NULL THEN monitor_job.completed_at
                        ELSE EXCLUDED.completed_at END,
    log = coalesce(EXCLUDED.log, monitor_job.log),
    message = coalesce(EXCLUDED.message, monitor_job.message),
    wildcards = coalesce(EXCLUDED.wildcards, monitor_job.wildcards),
    is_checkpoint = coalesce(EXCLUDED.is_checkpoint, monitor_job.is_checkpoint),
    updated = now();

-- name: monitor_jobs
SELECT jobid, jobid_raw, workflow, name, input, output, status, started_at, completed_at, log,
       message, wildcards, is_checkpoint
FROM monitor_job
WHERE workflow = %(workflow)s::uuid AND (%(jobid)s::text IS NULL OR jobid = %(jobid)s)
ORDER BY started_at NULLS LAST, updated, jobid;

-- name: monitor_workflow_rename
UPDATE monitor_workflow SET name = %(name)s, updated = now() WHERE id = %(id)s::uuid
RETURNING id;

-- name: monitor_workflow_delete
DELETE FROM monitor_workflow WHERE id = %(id)s::uuid;

-- name: monitor_workflow_delete_all
DELETE FROM monitor_workflow;
