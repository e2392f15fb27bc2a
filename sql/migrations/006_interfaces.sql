-- Open interfaces: workflows reported by outside clients through the Panoptes monitor API
-- (/m1/), and API tokens.
--
-- Tasks are shown as Panoptes workflows straight from the task and run tables; only
-- workflows created through /m1/workflow/create/ (e.g. snakemake --wms-monitor) live here.

CREATE TABLE monitor_workflow (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (name <> ''),
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now(),
    -- Counters a client may report with a "progress" message; NULL means "count the jobs".
    jobs_total integer CHECK (jobs_total IS NULL OR jobs_total >= 0),
    jobs_done integer CHECK (jobs_done IS NULL OR jobs_done >= 0)
);
CREATE INDEX monitor_workflow_created ON monitor_workflow (created);

CREATE TABLE monitor_job (
    workflow uuid NOT NULL REFERENCES monitor_workflow ON DELETE CASCADE,
    jobid text NOT NULL,
    jobid_raw jsonb NOT NULL,  -- as the client sent it (snakemake sends integers)
    name text,
    input jsonb NOT NULL DEFAULT '[]',
    output jsonb NOT NULL DEFAULT '[]',
    status text NOT NULL
        CHECK (status IN ('running', 'pending', 'error', 'cancelled', 'completed')),
    started_at timestamptz,
    completed_at timestamptz,
    log text,
    message jsonb,
    wildcards jsonb,
    is_checkpoint boolean,
    updated timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow, jobid)
);

-- API tokens: only a SHA-256 of each random token is kept; the token is shown once.
CREATE TABLE api_token (
    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    hash text NOT NULL UNIQUE,
    admin boolean NOT NULL DEFAULT FALSE,
    created timestamptz NOT NULL DEFAULT now(),
    last_used timestamptz
);
