"""Archiving: shipping each finished run to its task's archives and the node's default
archives.  ``deliver`` owns the queue (default archives, leases, one attempt and its outcome);
``record`` builds the record an archiver plugin receives and applies jq transforms to it."""
