-- Archiving: one row per (finished run, archive), created by the database itself when the
-- lead stores a merged result, so no process can forget it.  The archiver daemon claims due
-- rows under a lease (a killed archiver's rows are claimed again: at-least-once delivery)
-- and appends one diagnostic entry per attempt.

-- The node's default archives, loaded from the default-archives directory by the archiver.
CREATE TABLE archive_default (
    id bigserial PRIMARY KEY,
    source text NOT NULL,          -- "<file>" or "<file>[<index>]", for diagnostics
    spec jsonb NOT NULL,
    loaded timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE archiving (
    id bigserial PRIMARY KEY,
    run bigint NOT NULL REFERENCES run ON DELETE CASCADE,
    archiver text NOT NULL,
    spec jsonb NOT NULL,           -- the whole archive spec (data, transform, ttl, ...)
    is_default boolean NOT NULL DEFAULT FALSE,
    added timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_attempt timestamptz,
    -- '-infinity' means "due now"; NULL means "no more attempts".
    next_attempt timestamptz DEFAULT '-infinity',
    completed boolean NOT NULL DEFAULT FALSE,
    archived boolean NOT NULL DEFAULT FALSE,
    completed_at timestamptz,
    ttl_expires timestamptz,
    diags jsonb NOT NULL DEFAULT '[]',
    -- The archiver process (pid) working on the row, and until when its claim holds.
    claimed_by integer,
    lease_until timestamptz,
    CHECK (NOT archived OR completed),
    CHECK (completed = (next_attempt IS NULL))
);
CREATE INDEX archiving_run ON archiving (run);
CREATE INDEX archiving_candidates ON archiving (attempts, next_attempt) WHERE NOT completed;
CREATE INDEX archiving_claimed ON archiving (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX archiving_ttl ON archiving (ttl_expires) WHERE NOT completed AND ttl_expires IS NOT NULL;

-- An ISO 8601 duration as an interval; NULL (never an error) when it is not one, so a bad
-- ttl can never make the runner's result update fail.
CREATE FUNCTION archiving_interval(value text) RETURNS interval
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN value::interval;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$$;

-- Create the archivings of a run when its merged result appears: the task's archives (lead
-- only) and every default archive, each filtered by its "runs" (succeeded by default).
CREATE FUNCTION archiving_run_after() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t record;
    ok boolean;
    added integer;
BEGIN
    SELECT participant, json INTO t FROM task WHERE id = NEW.task;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT s.success INTO ok FROM run_state s WHERE s.name = NEW.state;
    IF ok IS NULL AND jsonb_typeof(NEW.result_merged->'succeeded') = 'boolean' THEN
        ok := (NEW.result_merged->>'succeeded')::boolean;
    END IF;
    ok := coalesce(ok, FALSE);
    INSERT INTO archiving (run, archiver, spec, is_default, ttl_expires)
    SELECT NEW.id, a.spec->>'archiver', a.spec, a.is_default,
           now() + archiving_interval(a.spec->>'ttl')
    FROM (
        SELECT e.value AS spec, FALSE AS is_default, e.ordinality AS pos
        FROM jsonb_array_elements(
                 CASE WHEN t.participant = 0 AND jsonb_typeof(t.json->'archives') = 'array'
                      THEN t.json->'archives' ELSE '[]'::jsonb END) WITH ORDINALITY e
        UNION ALL
        SELECT d.spec, TRUE, 1000000 + d.id FROM archive_default d
    ) a
    WHERE jsonb_typeof(a.spec) = 'object' AND a.spec ? 'archiver'
      AND CASE coalesce(a.spec->>'runs', 'succeeded')
              WHEN 'all' THEN TRUE
              WHEN 'failed' THEN NOT ok
              ELSE ok
          END
    ORDER BY a.pos;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added > 0 THEN
        PERFORM pg_notify('archiving_change', '');
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER archiving_run_update AFTER UPDATE OF result_merged ON run FOR EACH ROW
    WHEN (OLD.result_merged IS NULL AND NEW.result_merged IS NOT NULL)
    EXECUTE FUNCTION archiving_run_after();
CREATE TRIGGER archiving_run_insert AFTER INSERT ON run FOR EACH ROW
    WHEN (NEW.result_merged IS NOT NULL)
    EXECUTE FUNCTION archiving_run_after();

-- When the last archiving of a run completes and its task has keep-after-archive, the run
-- expires that long afterwards (the ticker's purge removes it).  The run row is locked first
-- so two archivings of one run completing at once cannot both miss being the last.
CREATE FUNCTION archiving_completed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keep interval;
BEGIN
    SELECT t.keep_after_archive INTO keep
    FROM run r JOIN task t ON t.id = r.task WHERE r.id = NEW.run;
    IF keep IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM run WHERE id = NEW.run FOR UPDATE;
    IF NOT EXISTS (SELECT 1 FROM archiving WHERE run = NEW.run AND NOT completed) THEN
        UPDATE run SET expires = now() + keep WHERE id = NEW.run;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER archiving_completed AFTER UPDATE OF completed ON archiving FOR EACH ROW
    WHEN (NEW.completed AND NOT OLD.completed)
    EXECUTE FUNCTION archiving_completed();
