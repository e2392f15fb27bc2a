-- Core schema: settings, heartbeats, tasks and runs.
--
-- The timeline guarantee lives here: an exclusion constraint on run makes two conflicting
-- active runs impossible, whatever the number of concurrent writers.  Exclusive runs carry the
-- slot [0,inf) and normal runs the single point [id,id]; two slots overlap iff at least one
-- run is exclusive, so "exclusive conflicts with exclusive and normal, normal with exclusive,
-- normal never with normal" is exactly "times overlap and slots overlap".

CREATE TABLE configurables (
    id boolean PRIMARY KEY DEFAULT TRUE CHECK (id),
    schedule_horizon interval NOT NULL DEFAULT 'P1D',
    keep_runs_tasks interval NOT NULL DEFAULT 'P2D',
    run_straggle interval NOT NULL DEFAULT 'PT30S',
    run_start_margin interval NOT NULL DEFAULT 'PT0.2S'
);
INSERT INTO configurables DEFAULT VALUES;

CREATE TABLE control (
    id boolean PRIMARY KEY DEFAULT TRUE CHECK (id),
    pause_runs_until timestamptz
);
INSERT INTO control DEFAULT VALUES;

CREATE TABLE heartbeat (
    name text PRIMARY KEY,
    started timestamptz NOT NULL DEFAULT now(),
    updates bigint NOT NULL DEFAULT 0,
    last timestamptz NOT NULL DEFAULT now(),
    next_time interval,
    pid integer
);

CREATE TABLE task (
    id bigserial PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    json jsonb NOT NULL,
    test_type text NOT NULL,
    tool text NOT NULL,
    scheduling_class text NOT NULL
        CHECK (scheduling_class IN ('background', 'background-multi', 'exclusive', 'normal')),
    participants jsonb NOT NULL,
    participant integer NOT NULL DEFAULT 0 CHECK (participant >= 0),
    participant_key text,
    enabled boolean NOT NULL DEFAULT FALSE,
    added timestamptz NOT NULL DEFAULT now(),
    hints jsonb NOT NULL DEFAULT '{}',
    diags text,
    cli jsonb NOT NULL DEFAULT '[]',
    priority integer,
    start timestamptz,
    slip interval NOT NULL DEFAULT '0',
    sliprand boolean NOT NULL DEFAULT FALSE,
    duration interval NOT NULL,
    post interval NOT NULL DEFAULT '0',
    repeat interval CHECK (repeat IS NULL OR repeat > '0'),
    repeat_cron text,
    until timestamptz,
    max_runs integer CHECK (max_runs IS NULL OR max_runs > 0),
    -- The scheduler's cursor: the ideal start of the next run to place (NULL: none left).
    next_ideal timestamptz,
    keep_after_archive interval,
    lead_bind text,
    CHECK (until IS NULL OR start IS NULL OR until > start)
);
CREATE INDEX task_to_schedule ON task (next_ideal) WHERE enabled AND participant = 0;

CREATE TABLE run_state (
    name text PRIMARY KEY,
    display text NOT NULL,
    finished boolean NOT NULL,
    success boolean,
    active boolean NOT NULL  -- holds its place on the timeline
);
INSERT INTO run_state VALUES
    ('scheduling', 'Scheduling', FALSE, NULL, TRUE),
    ('pending',    'Pending',    FALSE, NULL, TRUE),
    ('on-deck',    'On Deck',    FALSE, NULL, TRUE),
    ('running',    'Running',    FALSE, NULL, TRUE),
    ('cleanup',    'Cleanup',    TRUE,  NULL, TRUE),
    ('finished',   'Finished',   TRUE,  TRUE, FALSE),
    ('overdue',    'Overdue',    TRUE,  FALSE, FALSE),
    ('missed',     'Missed',     TRUE,  FALSE, FALSE),
    ('failed',     'Failed',     TRUE,  FALSE, FALSE),
    ('preempted',  'Preempted',  TRUE,  FALSE, FALSE),
    ('nonstart',   'Non-Starter', TRUE, FALSE, FALSE),
    ('canceled',   'Canceled',   TRUE,  NULL, FALSE);

CREATE TABLE run_transition (
    from_state text NOT NULL REFERENCES run_state,
    to_state text NOT NULL REFERENCES run_state,
    PRIMARY KEY (from_state, to_state)
);
INSERT INTO run_transition VALUES
    ('scheduling', 'pending'), ('scheduling', 'preempted'), ('scheduling', 'canceled'),
    ('scheduling', 'nonstart'),
    ('pending', 'on-deck'), ('pending', 'running'), ('pending', 'missed'), ('pending', 'failed'),
    ('pending', 'preempted'), ('pending', 'canceled'), ('pending', 'nonstart'),
    ('on-deck', 'running'), ('on-deck', 'overdue'), ('on-deck', 'missed'), ('on-deck', 'failed'),
    ('on-deck', 'canceled'), ('on-deck', 'preempted'),
    ('running', 'cleanup'), ('running', 'finished'), ('running', 'overdue'), ('running', 'missed'),
    ('running', 'failed'), ('running', 'preempted'), ('running', 'canceled'),
    ('cleanup', 'finished'), ('cleanup', 'failed'),
    ('finished', 'failed'),
    ('overdue', 'finished'), ('overdue', 'missed'), ('overdue', 'failed'), ('overdue', 'canceled'),
    ('overdue', 'preempted'),
    ('missed', 'failed'),
    ('nonstart', 'canceled');

CREATE TABLE run (
    id bigserial PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    task bigint NOT NULL REFERENCES task ON DELETE CASCADE,
    times tstzrange NOT NULL CHECK (NOT isempty(times) OR lower(times) IS NOT NULL),
    state text NOT NULL REFERENCES run_state,
    conflict_class text CHECK (conflict_class IN ('exclusive', 'normal')),
    priority integer,
    added timestamptz NOT NULL DEFAULT now(),
    expires timestamptz,
    part_data jsonb,
    part_data_full jsonb,
    status integer,
    result jsonb,
    errors text,
    result_full jsonb,
    result_merged jsonb,
    clock_survey jsonb,
    limit_diags text,
    started timestamptz,
    slot int8range GENERATED ALWAYS AS (
        CASE conflict_class
            WHEN 'exclusive' THEN int8range(0, NULL)
            WHEN 'normal' THEN int8range(id, id, '[]')
        END) STORED,
    active boolean NOT NULL DEFAULT TRUE,
    CONSTRAINT run_no_conflicts EXCLUDE USING gist (times WITH &&, slot WITH &&)
        WHERE (active AND slot IS NOT NULL)
);
CREATE INDEX run_task_times ON run (task, lower(times));
CREATE INDEX run_times ON run USING gist (times);
CREATE INDEX run_lower ON run (lower(times));
CREATE INDEX run_current ON run (lower(times)) WHERE state IN ('pending', 'on-deck', 'running');
CREATE INDEX run_expires ON run (expires) WHERE expires IS NOT NULL;

-- State rules: only listed transitions; canceled is sticky; entering finished or failed
-- truncates the end to now (never before the start); times may only shrink.
CREATE FUNCTION run_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.uuid <> OLD.uuid OR NEW.task <> OLD.task THEN
            RAISE EXCEPTION 'A run''s UUID and task cannot change';
        END IF;
        IF NEW.priority IS DISTINCT FROM OLD.priority THEN
            RAISE EXCEPTION 'A run''s priority cannot change';
        END IF;
        IF OLD.state = 'canceled' THEN
            NEW.state := 'canceled';
        ELSIF NEW.state <> OLD.state AND NOT EXISTS (
                SELECT 1 FROM run_transition t WHERE t.from_state = OLD.state AND t.to_state = NEW.state) THEN
            RAISE EXCEPTION 'Invalid transition between states (% to %)', OLD.state, NEW.state;
        END IF;
        IF lower(NEW.times) <> lower(OLD.times) OR upper(NEW.times) > upper(OLD.times) THEN
            RAISE EXCEPTION 'Run times may only shrink';
        END IF;
        IF NEW.state <> OLD.state AND NEW.state IN ('finished', 'failed')
                AND upper(NEW.times) > now() THEN
            NEW.times := tstzrange(lower(NEW.times), greatest(lower(NEW.times), now()), '[]');
        END IF;
        IF NEW.state = 'running' AND OLD.state <> 'running' THEN
            NEW.started := coalesce(NEW.started, clock_timestamp());
        END IF;
    END IF;
    NEW.active := (SELECT active FROM run_state WHERE name = NEW.state);
    RETURN NEW;
END;
$$;
CREATE TRIGGER run_guard BEFORE INSERT OR UPDATE ON run FOR EACH ROW EXECUTE FUNCTION run_guard();

-- Wake-ups: one run_new per inserting statement (the scheduler inserts hundreds at once) and
-- one run_state per row whose state or results change, for the runner and for API waiters.
CREATE FUNCTION run_new_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('run_new', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER run_new_notify AFTER INSERT ON run FOR EACH STATEMENT
    EXECUTE FUNCTION run_new_notify();

CREATE FUNCTION run_state_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state <> OLD.state
            OR NEW.result_merged IS DISTINCT FROM OLD.result_merged
            OR NEW.result IS DISTINCT FROM OLD.result
            OR NEW.part_data_full IS DISTINCT FROM OLD.part_data_full THEN
        PERFORM pg_notify('run_state', json_build_object(
            'id', NEW.id, 'task', NEW.task, 'old', OLD.state, 'new', NEW.state)::text);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER run_state_notify AFTER UPDATE ON run FOR EACH ROW
    EXECUTE FUNCTION run_state_notify();

CREATE FUNCTION task_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.enabled IS DISTINCT FROM OLD.enabled OR NEW.json <> OLD.json THEN
        PERFORM pg_notify('task_change', NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER task_after AFTER INSERT OR UPDATE ON task FOR EACH ROW EXECUTE FUNCTION task_after();

CREATE FUNCTION control_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('control_change', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER control_after AFTER UPDATE ON control FOR EACH ROW EXECUTE FUNCTION control_after();
