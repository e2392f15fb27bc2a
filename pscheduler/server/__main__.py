"""``python -m pscheduler.server`` is ``pscheduler-server``: the supervisor starts its children
this way."""

from pscheduler.server.supervisor import main

raise SystemExit(main())
