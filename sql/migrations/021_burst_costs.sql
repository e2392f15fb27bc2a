-- What a burst of a thousand runs cost PostgreSQL (issue 14; plans read with auto_explain
-- during bench/scale.py's minute burst).

-- run_count_update joined the old and new transition tables on id.  PL/pgSQL keeps the plan
-- made at the first call, when both tables held one row: a nested loop, so every later batch
-- of n runs compared n x n rows (1,000 runs started together: two million comparisons,
-- ~1 s of the burst).  No join is needed: each old row takes one from its group and each new
-- row adds one to its own; a row whose group did not change adds and takes in the same group,
-- and HAVING drops the groups that sum to zero, so what is written is the same as before.
CREATE OR REPLACE FUNCTION run_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_count (task, state, started, n)
    SELECT task, state, started, sum(n) FROM (
        SELECT task, state, started IS NOT NULL AS started, -1 AS n FROM run_count_old
        UNION ALL
        SELECT task, state, started IS NOT NULL, 1 FROM run_count_new
    ) moved
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0;
    RETURN NULL;
END;
$$;

-- One NOTIFY "event" per transaction, not one per event: the listeners read every new row
-- after their cursor and never used the id in the payload.  PostgreSQL folds identical
-- notifications of a transaction into one, so a batch of 1,000 runs no longer queues 2,000
-- notifications, which every listening backend then read and which committing transactions
-- of other processes waited behind (the notification queue's lock, seen at COMMIT).
CREATE OR REPLACE FUNCTION event_append(
    p_kind text, p_task uuid, p_run uuid, p_test text, p_data jsonb
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    INSERT INTO event (kind, task_uuid, run_uuid, test_type, data)
    VALUES (p_kind, p_task, p_run, p_test, coalesce(p_data, '{}'))
    RETURNING id INTO new_id;
    PERFORM pg_notify('event', '');
    RETURN new_id;
END;
$$;

-- GET /tasks lists every task's URL in (added, id) order: with the UUID in the index it is
-- read from the index alone, without a sort.
DROP INDEX task_added;
CREATE INDEX task_added ON task (added, id) INCLUDE (uuid);
