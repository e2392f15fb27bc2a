"""Runs the API under gunicorn (threaded workers, TLS unless disabled)."""

from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from pscheduler.config import Config

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):
    def __init__(self, config: Config):
        self.node_config = config
        super().__init__()

    def load_config(self) -> None:
        c = self.node_config
        settings = {
            "bind": c.listen if not c.listen.startswith("[") else c.listen,
            "workers": c.api_workers,
            "worker_class": "gthread",
            "threads": 32,
            "timeout": 120,
            "graceful_timeout": 5,
            "keepalive": 5,
            "accesslog": "-" if c.debug else None,
            "errorlog": "-",
            "loglevel": "debug" if c.debug else "warning",
            "proc_name": "pscheduler-api",
        }
        if c.tls:
            settings["certfile"] = c.cert
            settings["keyfile"] = c.key
        for key, value in settings.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self):
        from pscheduler.api import create_app

        return create_app(self.node_config)


def serve(config: Config) -> int:
    from pscheduler.metrics import prepare_multiprocess_dir

    prepare_multiprocess_dir(config.state_dir)  # before any worker imports prometheus_client
    _Gunicorn(config).run()
    return 0
