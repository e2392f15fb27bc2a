-- Run counts kept as runs change (DESIGN property 7): /status, /metrics, GET /tasks, /stat/runs
-- and the /m1/ monitor read these instead of counting the run table.
--
-- run_count holds signed deltas per (task, state, started): a statement that inserts, deletes or
-- changes the state of runs appends one row per group it touched, never updates one.  Appending
-- takes no row lock, so the scheduler inserting a task's horizon and the runner starting one of
-- its runs never wait for each other on a hot counter row.  The ticker folds the deltas into one
-- row per group (run_count_compact); the sum over any set of rows is the count, compacted or not.
-- No foreign key on task: deleting a task cascades to its runs, whose negative deltas are
-- written while the task row is already gone; they sum to zero and compaction drops them.

CREATE TABLE run_count (
    task bigint NOT NULL,
    state text NOT NULL,
    started boolean NOT NULL,
    n bigint NOT NULL
);
CREATE INDEX run_count_task ON run_count (task);

INSERT INTO run_count (task, state, started, n)
SELECT task, state, started IS NOT NULL, count(*) FROM run GROUP BY 1, 2, 3;

CREATE FUNCTION run_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_count (task, state, started, n)
    SELECT task, state, started IS NOT NULL, count(*) FROM run_count_new GROUP BY 1, 2, 3;
    RETURN NULL;
END;
$$;
CREATE TRIGGER run_count_insert AFTER INSERT ON run REFERENCING NEW TABLE AS run_count_new
    FOR EACH STATEMENT EXECUTE FUNCTION run_count_insert();

CREATE FUNCTION run_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_count (task, state, started, n)
    SELECT task, state, started IS NOT NULL, -count(*) FROM run_count_old GROUP BY 1, 2, 3;
    RETURN NULL;
END;
$$;
CREATE TRIGGER run_count_delete AFTER DELETE ON run REFERENCING OLD TABLE AS run_count_old
    FOR EACH STATEMENT EXECUTE FUNCTION run_count_delete();

-- Only rows whose state or started-ness changed move between groups (results, part data and
-- times updates write nothing).
CREATE FUNCTION run_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_count (task, state, started, n)
    SELECT task, state, started, sum(n) FROM (
        SELECT o.task, o.state, o.started IS NOT NULL AS started, -1 AS n
        FROM run_count_old o JOIN run_count_new w ON w.id = o.id
        WHERE w.state <> o.state OR (w.started IS NULL) <> (o.started IS NULL)
        UNION ALL
        SELECT w.task, w.state, w.started IS NOT NULL, 1
        FROM run_count_old o JOIN run_count_new w ON w.id = o.id
        WHERE w.state <> o.state OR (w.started IS NULL) <> (o.started IS NULL)
    ) moved
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0;
    RETURN NULL;
END;
$$;
CREATE TRIGGER run_count_update AFTER UPDATE ON run
    REFERENCING OLD TABLE AS run_count_old NEW TABLE AS run_count_new
    FOR EACH STATEMENT EXECUTE FUNCTION run_count_update();

CREATE FUNCTION run_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM run_count;
    RETURN NULL;
END;
$$;
CREATE TRIGGER run_count_truncate AFTER TRUNCATE ON run
    FOR EACH STATEMENT EXECUTE FUNCTION run_count_truncate();

-- /status: the last finished run and the last placed one without scanning.
CREATE INDEX run_finished_upper ON run (upper(times)) WHERE state = 'finished';
CREATE INDEX run_added ON run (added);
-- /metrics start lateness over the last hour.
CREATE INDEX run_started ON run (started) WHERE started IS NOT NULL;
-- GET /tasks pages in (added, id) order; placement latency looks at recent tasks.
CREATE INDEX task_added ON task (added, id);
-- /monitor: the latest past runs by end time.
CREATE INDEX run_upper ON run (upper(times));
-- /m1/: a task's latest done run when it lies in the future (only failure states can).
CREATE INDEX run_task_failed ON run (task, lower(times))
    WHERE state IN ('failed', 'missed', 'overdue', 'nonstart', 'preempted', 'canceled');
