"""What describes this host: its identity (own addresses), health and status, the machine
under it, its clock, path MTU, API tokens, per-requester accounting and Prometheus metrics.
Nothing here schedules or runs anything."""
