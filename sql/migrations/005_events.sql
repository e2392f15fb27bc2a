-- Events: an append-only log of what happened on this node, for the push stream
-- (GET /pscheduler/events) and the dashboard.
--
-- Every process's changes appear because the rows are written by triggers inside the
-- transaction that made the change: a rolled-back change leaves no event, a committed one
-- always has its event.  Each append sends NOTIFY "event" with the new id; the API's one
-- listener per process reads the new rows and fans them out to its stream clients.
--
-- The task and run UUIDs and the test type are copied into the row, so events outlive purged
-- tasks and runs and the stream filters without joins.
--
-- Kinds written here: task-created, task-cancelled, run-placed, run-nonstart, run-state,
-- run-deleted, result-merged.  Other tables append through event_append(); archiving rows
-- (migration 003) get archiving-succeeded / archiving-failed from event_archiving() below.

CREATE TABLE event (
    id bigserial PRIMARY KEY,
    time timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind text NOT NULL,
    task_uuid uuid,
    run_uuid uuid,
    test_type text,
    data jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX event_time ON event (time);

ALTER TABLE configurables ADD COLUMN keep_events interval NOT NULL DEFAULT 'P1D';

-- The one way to append: any trigger or process may call it.
CREATE FUNCTION event_append(
    p_kind text, p_task uuid, p_run uuid, p_test text, p_data jsonb
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    INSERT INTO event (kind, task_uuid, run_uuid, test_type, data)
    VALUES (p_kind, p_task, p_run, p_test, coalesce(p_data, '{}'))
    RETURNING id INTO new_id;
    PERFORM pg_notify('event', new_id::text);
    RETURN new_id;
END;
$$;

-- Same, for rows that only know the task's internal id (run and archiving triggers).
CREATE FUNCTION event_append_for_task(
    p_kind text, p_task_id bigint, p_run uuid, p_data jsonb
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    SELECT uuid, test_type INTO t FROM task WHERE id = p_task_id;
    IF NOT FOUND THEN
        RETURN NULL;  -- the task is being deleted (purge): nothing to tell
    END IF;
    RETURN event_append(p_kind, t.uuid, p_run, t.test_type, p_data);
END;
$$;

CREATE FUNCTION event_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM event_append('task-created', NEW.uuid, NULL, NEW.test_type, jsonb_build_object(
            'tool', NEW.tool, 'scheduling-class', NEW.scheduling_class,
            'participant', NEW.participant, 'enabled', NEW.enabled));
    ELSIF OLD.enabled AND NOT NEW.enabled THEN
        PERFORM event_append('task-cancelled', NEW.uuid, NULL, NEW.test_type, jsonb_build_object(
            'tool', NEW.tool, 'scheduling-class', NEW.scheduling_class));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER event_task AFTER INSERT OR UPDATE ON task FOR EACH ROW
    EXECUTE FUNCTION event_task();

CREATE FUNCTION event_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state = 'nonstart' THEN
            PERFORM event_append_for_task('run-nonstart', NEW.task, NEW.uuid, jsonb_build_object(
                'start', lower(NEW.times), 'end', upper(NEW.times), 'state', NEW.state,
                'reason', NEW.errors));
        ELSE
            PERFORM event_append_for_task('run-placed', NEW.task, NEW.uuid, jsonb_build_object(
                'start', lower(NEW.times), 'end', upper(NEW.times), 'state', NEW.state,
                'priority', NEW.priority));
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.state <> OLD.state THEN
            PERFORM event_append_for_task('run-state', NEW.task, NEW.uuid, jsonb_build_object(
                'old', OLD.state, 'new', NEW.state,
                'start', lower(NEW.times), 'end', upper(NEW.times), 'errors', NEW.errors));
        END IF;
        IF NEW.result_merged IS NOT NULL AND OLD.result_merged IS NULL THEN
            PERFORM event_append_for_task('result-merged', NEW.task, NEW.uuid, jsonb_build_object(
                'state', NEW.state,
                'succeeded', NEW.result_merged -> 'succeeded'));
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        -- Purging old finished runs is housekeeping; removing live ones (a cancelled task's
        -- future runs, DELETE /runs/<uuid>) changes the schedule that viewers draw.
        IF NOT (SELECT finished FROM run_state WHERE name = OLD.state) THEN
            PERFORM event_append_for_task('run-deleted', OLD.task, OLD.uuid, jsonb_build_object(
                'state', OLD.state, 'start', lower(OLD.times), 'end', upper(OLD.times)));
        END IF;
        RETURN OLD;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER event_run AFTER INSERT OR UPDATE OR DELETE ON run FOR EACH ROW
    EXECUTE FUNCTION event_run();

-- Archivings: the table comes from migration 003, whose column names this function does not
-- assume beyond "run" (the run id); it reads the row as JSON and recognises the usual ways of
-- saying "done": a state column ('succeeded'/'archived' vs 'failed'), or completed/archived
-- and failed booleans.  003 may instead call event_append_for_task() itself.
CREATE FUNCTION event_archiving() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n jsonb := to_jsonb(NEW);
    o jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) ELSE '{}'::jsonb END;
    outcome text;
    old_outcome text;
    r record;
BEGIN
    outcome := CASE
        WHEN n ->> 'state' IN ('succeeded', 'archived', 'success') THEN 'succeeded'
        WHEN n ->> 'state' IN ('failed', 'failure', 'expired') THEN 'failed'
        WHEN (n ->> 'failed')::boolean THEN 'failed'
        WHEN (n ->> 'archived')::boolean OR (n ->> 'succeeded')::boolean THEN 'succeeded'
        WHEN (n ->> 'completed')::boolean THEN 'succeeded'
    END;
    old_outcome := CASE
        WHEN o ->> 'state' IN ('succeeded', 'archived', 'success') THEN 'succeeded'
        WHEN o ->> 'state' IN ('failed', 'failure', 'expired') THEN 'failed'
        WHEN (o ->> 'failed')::boolean THEN 'failed'
        WHEN (o ->> 'archived')::boolean OR (o ->> 'succeeded')::boolean THEN 'succeeded'
        WHEN (o ->> 'completed')::boolean THEN 'succeeded'
    END;
    IF outcome IS NULL OR outcome IS NOT DISTINCT FROM old_outcome THEN
        RETURN NULL;
    END IF;
    SELECT run.uuid, run.task INTO r FROM run WHERE run.id = (n ->> 'run')::bigint;
    IF FOUND THEN
        PERFORM event_append_for_task('archiving-' || outcome, r.task, r.uuid,
            jsonb_strip_nulls(jsonb_build_object(
                'archiving', n -> 'id', 'archiver', n -> 'archiver',
                'attempts', n -> 'attempts', 'diags', n -> 'diags')));
    END IF;
    RETURN NULL;
END;
$$;

DO $$
BEGIN
    IF to_regclass('archiving') IS NOT NULL THEN
        CREATE TRIGGER event_archiving AFTER INSERT OR UPDATE ON archiving FOR EACH ROW
            EXECUTE FUNCTION event_archiving();
    END IF;
END;
$$;
