-- An event as stream clients get it (without the hrefs, which depend on the URL a client
-- used), made by the query that reads it (issue 14): decoded into a dict of UUIDs, a
-- datetime and the data, an event cost 1.3 kB of small Python objects in every API worker
-- until each of its streams had sent it (0.65 kB as the text this makes).
CREATE FUNCTION event_json(e event) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT '{"id":' || e.id
        || ',"time":"' || to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
        || '+00:00","kind":' || to_json(e.kind)
        || ',"task":' || coalesce(to_json(e.task_uuid)::text, 'null')
        || ',"run":' || coalesce(to_json(e.run_uuid)::text, 'null')
        || ',"test":' || coalesce(to_json(e.test_type)::text, 'null')
        || ',"data":' || coalesce(nullif(e.data, 'null'::jsonb)::text, '{}') || '}'
$$;
