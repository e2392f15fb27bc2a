-- GET /tasks?json=...: the containment filter on a task and the detail it shows, in one place
-- for every listing that applies it.  A single-expression SQL function: the planner inlines it.
CREATE FUNCTION task_matches(t task, filter jsonb) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT filter IS NULL OR t.json @> filter
        OR (t.json || jsonb_build_object('detail', jsonb_build_object(
               'enabled', t.enabled, 'participant', t.participant,
               'exclusive', t.scheduling_class = 'exclusive',
               'anytime', t.scheduling_class IN ('background', 'background-multi'),
               'multi-result', t.scheduling_class = 'background-multi'))) @> filter
$$;
