"""``python -m pscheduler`` is the ``pscheduler`` command."""

import sys

from pscheduler.cli.main import main

sys.exit(main())
