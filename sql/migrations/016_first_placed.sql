-- When the scheduler placed each task's first run, kept on the task as it happens, so the
-- placement latency metric reads recent task rows instead of probing the run table once per
-- task (a mesh host adds hundreds of tasks an hour).
ALTER TABLE task ADD COLUMN first_placed timestamptz;

UPDATE task t SET first_placed = (
    SELECT r.added FROM run r WHERE r.task = t.id ORDER BY lower(r.times) LIMIT 1);

-- Only a task's first insert statement finds first_placed NULL; later ones touch no row.
CREATE FUNCTION task_first_placed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task t SET first_placed = n.added
    FROM (SELECT task, min(added) AS added FROM run_placed_new GROUP BY task) n
    WHERE t.id = n.task AND t.first_placed IS NULL;
    RETURN NULL;
END;
$$;
CREATE TRIGGER task_first_placed AFTER INSERT ON run REFERENCING NEW TABLE AS run_placed_new
    FOR EACH STATEMENT EXECUTE FUNCTION task_first_placed();
