-- pSConfig agent: the state of its last cycle, one row per node (shown in /status and by
-- `pscheduler-server psconfig stats`).  The tasks themselves live on their leads; the agent
-- finds its own there by the marker in their reference, so this row is only a report and the
-- list of leads to look at again when a template stops naming them.

CREATE TABLE psconfig_state (
    id boolean PRIMARY KEY DEFAULT TRUE CHECK (id),
    updated timestamptz NOT NULL DEFAULT now(),
    state jsonb NOT NULL
);
