"""Starting and supervising a node: ``pscheduler-server`` (``supervisor``) runs the embedded
PostgreSQL, the API and every daemon and restarts what dies; ``tls`` makes the first-start
certificate; ``tokens`` is the ``token`` subcommand."""
