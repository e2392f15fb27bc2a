-- Named queries for the pSConfig agent.

-- name: psconfig_state_get
SELECT state, updated FROM psconfig_state;

-- name: psconfig_state_put
INSERT INTO psconfig_state (id, state, updated) VALUES (TRUE, %(state)s, now())
ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated = now();
