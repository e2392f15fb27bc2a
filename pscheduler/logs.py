"""Logging to stderr with level and process name, which journald keeps under systemd."""

from __future__ import annotations

import logging
import sys
import warnings


def setup(process: str, debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            f"%(asctime)s %(levelname)s pscheduler-{process}[%(process)d] %(name)s: %(message)s"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    for noisy in ("urllib3", "pika", "werkzeug", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
