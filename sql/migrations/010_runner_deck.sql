-- The runner claims runs ahead of their start (pending -> on-deck) in batches and starts them
-- at their exact time (on-deck -> running).  claimed_by names the runner instance holding an
-- on-deck run, so only that runner starts it; a runner that died leaves its on-deck runs to
-- its successor, which hands them back (on-deck -> pending) and claims them again.
INSERT INTO run_transition VALUES ('on-deck', 'pending') ON CONFLICT DO NOTHING;
ALTER TABLE run ADD COLUMN IF NOT EXISTS claimed_by text;

-- The ticker's overdue and stale-placement checks walk these small partial indexes instead of
-- the whole table (pending rows are in neither, so placing runs costs no more).
CREATE INDEX IF NOT EXISTS run_running_upper ON run (upper(times)) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS run_scheduling ON run (lower(times)) WHERE state = 'scheduling';
