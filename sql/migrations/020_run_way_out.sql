-- Every run state has a way out: the ticker finds runs stuck waiting on their end (running
-- past it, or in cleanup with the merge never stored) through this index, not a scan.
CREATE INDEX run_ending ON run (upper(times)) WHERE state IN ('running', 'cleanup');
