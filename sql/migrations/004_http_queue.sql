-- The durable outgoing HTTP queue: requests to other nodes that must happen eventually
-- (cancelling a task's copies on its participants), retried with backoff by the ticker.
-- A lead task that is disabled queues a DELETE to every other participant in the same
-- transaction, so a cancellation survives a participant that is down and any process dying.

CREATE TABLE http_queue (
    id bigserial PRIMARY KEY,
    method text NOT NULL,
    url text NOT NULL,
    params jsonb NOT NULL DEFAULT '{}',
    body jsonb,
    bind text,
    added timestamptz NOT NULL DEFAULT now(),
    next_attempt timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_attempt timestamptz,
    last_error text,
    expires timestamptz NOT NULL DEFAULT now() + interval 'P1D'
);
CREATE INDEX http_queue_due ON http_queue (next_attempt);

CREATE FUNCTION http_queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('http_queue', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER http_queue_notify AFTER INSERT ON http_queue FOR EACH STATEMENT
    EXECUTE FUNCTION http_queue_notify();

-- participants[n] as a URL authority: bare IPv6 literals get brackets.
CREATE FUNCTION http_authority(host text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN host LIKE '[%' OR host NOT LIKE '%:%:%' THEN host ELSE '[' || host || ']' END;
$$;

CREATE FUNCTION task_cancel_participants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.enabled AND NOT NEW.enabled AND NEW.participant = 0
            AND jsonb_array_length(NEW.participants) > 1 THEN
        INSERT INTO http_queue (method, url, params, bind)
        SELECT 'DELETE',
               'https://' || http_authority(p.host) || '/pscheduler/tasks/' || NEW.uuid::text,
               CASE WHEN NEW.participant_key IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('key', NEW.participant_key) END,
               NEW.lead_bind
        FROM jsonb_array_elements_text(NEW.participants) WITH ORDINALITY AS p(host, n)
        WHERE p.n > 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER task_cancel_participants AFTER UPDATE OF enabled ON task FOR EACH ROW
    EXECUTE FUNCTION task_cancel_participants();
