-- Who may write to a workflow reported through /m1/: the address that created it, a holder
-- of the key handed out at creation (only its SHA-256 is kept), or an admin token.
-- Workflows created before this migration have neither: only an admin token may write.
ALTER TABLE monitor_workflow ADD COLUMN creator text;
ALTER TABLE monitor_workflow ADD COLUMN key_hash text;
