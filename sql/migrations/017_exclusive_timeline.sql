-- Placing a normal run only needs the exclusive runs around it (normal runs never conflict with
-- each other), and a mesh host's timeline is mostly normal runs: a million of them in a day's
-- horizon.  This index finds the few exclusive ones without reading the others.
CREATE INDEX run_exclusive_times ON run USING gist (times)
    WHERE active AND conflict_class = 'exclusive';

-- One-row settings tables are never analyzed by autovacuum (too few changes), and unanalyzed
-- the planner guesses hundreds of rows for them: every query joining configurables was planned
-- for hundreds of times the rows it reads.  Their statistics, once, say one row.
ANALYZE configurables;
ANALYZE control;
