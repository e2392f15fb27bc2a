-- GET /tasks from a copy kept by each API process (issue 14): the list of task URLs changes
-- only when a task is added or deleted, and this row's version changes with it, in the same
-- commit.  A reader that reads the version and the list in one statement (one snapshot)
-- gets a pair that agree; the next reader that sees the same version may use that copy.
CREATE TABLE task_list_version (
    one boolean PRIMARY KEY DEFAULT TRUE CHECK (one),
    version bigint NOT NULL DEFAULT 0
);
INSERT INTO task_list_version DEFAULT VALUES;

-- Bumped once per transaction, as it commits (a deferred constraint trigger): a transaction
-- that adds a task and then places its runs holds the row's lock only while it commits, so
-- task creations do not queue behind each other's placement.
CREATE FUNCTION task_list_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('pscheduler.task_list_bumped', true) IS DISTINCT FROM
       txid_current()::text THEN
        PERFORM set_config('pscheduler.task_list_bumped', txid_current()::text, true);
        UPDATE task_list_version SET version = version + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER task_list_bump AFTER INSERT OR DELETE ON task
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION task_list_bump();

CREATE FUNCTION task_list_bump_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task_list_version SET version = version + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER task_list_bump_truncate AFTER TRUNCATE ON task
    FOR EACH STATEMENT EXECUTE FUNCTION task_list_bump_truncate();
ANALYZE task_list_version;
