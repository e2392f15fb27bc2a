"""Node configuration: one object built from flags and environment, shared by every process.

The supervisor passes it to its children through ``PSCHEDULER_*`` environment variables, the
same variables a systemd environment file sets, so a process started alone behaves the same.
"""

from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass, fields
from pathlib import Path

import platformdirs

_ENV = {
    "dsn": "PSCHEDULER_DSN",
    "state_dir": "PSCHEDULER_STATE_DIR",
    "config_dir": "PSCHEDULER_CONFIG_DIR",
    "listen": "PSCHEDULER_LISTEN",
    "hostname": "PSCHEDULER_HOSTNAME",
    "tls": "PSCHEDULER_TLS",
    "cert": "PSCHEDULER_CERT",
    "key": "PSCHEDULER_KEY",
    "limits": "PSCHEDULER_LIMITS",
    "ntp_server": "PSCHEDULER_NTP_SERVER",
    "cymru_resolver": "PSCHEDULER_CYMRU_RESOLVER",
    "debug": "PSCHEDULER_DEBUG",
    "api_workers": "PSCHEDULER_API_WORKERS",
    "archive_allow": "PSCHEDULER_ARCHIVE_ALLOW",
    "archive_deny": "PSCHEDULER_ARCHIVE_DENY",
    "api_db_timeout": "PSCHEDULER_API_DB_TIMEOUT",
    "api_db_lock_timeout": "PSCHEDULER_API_DB_LOCK_TIMEOUT",
    "api_db_connect_timeout": "PSCHEDULER_API_DB_CONNECT_TIMEOUT",
    "api_retire_growth": "PSCHEDULER_API_RETIRE_GROWTH",
}


# The limit file's name in the config dir, unless PSCHEDULER_LIMITS or --limits names another.
LIMITS_FILE = "limits.conf"


def default_limits_path(environ: dict[str, str] | None = None) -> str:
    """The limit file a node started with this environment reads (the one default of the
    server, ``pscheduler-server limit-diags`` and ``pscheduler validate-limits``)."""
    return Config._read_env(environ)._finish_paths().limits


@dataclass
class Config:
    dsn: str | None = None
    state_dir: str = ""
    config_dir: str = ""
    listen: str = "127.0.0.1:8443"
    hostname: str = ""
    tls: bool = True
    cert: str = ""
    key: str = ""
    limits: str = ""
    ntp_server: str = ""  # compared with in /status only; /clock never asks NTP
    # DNS server (HOST[:PORT]) for Team Cymru look-ups; empty: the system's resolvers.
    cymru_resolver: str = ""
    debug: bool = False
    api_workers: int = 2
    # Archive destination policy (pscheduler.toolkit.destinations): networks, "unix".
    archive_allow: str = ""
    archive_deny: str = ""
    # Seconds an API request waits on the database before it answers 503: statements (and
    # the wait for any answer at all), lock waits, connecting.  Runs are waited for by NOTIFY.
    api_db_timeout: float = 3.0
    api_db_lock_timeout: float = 2.5
    api_db_connect_timeout: float = 2.0
    # An API worker that a peak of connections (hundreds of streams or idle clients) left this
    # much bigger (0.05: 5%) hands over to a fresh process once the peak is over; < 0: never.
    api_retire_growth: float = 0.05

    def finish(self) -> Config:
        """Fill the defaults that depend on other settings."""
        self._finish_paths()
        if not self.hostname:
            self.hostname = (
                self.listen_host if self.listen_host not in ("0.0.0.0", "::") else socket.getfqdn()
            )
        return self

    def _finish_paths(self) -> Config:
        if not self.state_dir:
            self.state_dir = platformdirs.user_data_dir("pscheduler")
        self.state_dir = str(Path(self.state_dir).expanduser().resolve())
        if not self.config_dir:
            self.config_dir = self.state_dir
        if not self.cert:
            self.cert = str(Path(self.state_dir) / "tls" / "cert.pem")
        if not self.key:
            self.key = str(Path(self.state_dir) / "tls" / "key.pem")
        if not self.limits:
            self.limits = str(Path(self.config_dir) / LIMITS_FILE)
        return self

    @property
    def listen_host(self) -> str:
        host, _, _ = self.listen.rpartition(":")
        return host.strip("[]") or "127.0.0.1"

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def node_address(self) -> str:
        """host[:port] that other nodes and clients use to reach this node."""
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return host if self.listen_port == 443 else f"{host}:{self.listen_port}"

    @property
    def api_url(self) -> str:
        """This node's API base URL, with the scheme it serves (tools that call the node)."""
        return f"{'https' if self.tls else 'http'}://{self.node_address}/pscheduler"

    def to_env(self) -> dict[str, str]:
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == "":
                continue
            env[_ENV[f.name]] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return env

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        return cls._read_env(environ).finish()

    @classmethod
    def _read_env(cls, environ: dict[str, str] | None) -> Config:
        environ = os.environ if environ is None else environ
        config = cls()
        for f in fields(cls):
            raw = environ.get(_ENV[f.name])
            if raw is None:
                continue
            if f.type in ("bool", bool):
                setattr(config, f.name, raw.lower() in ("1", "true", "yes", "on"))
            elif f.type in ("int", int, "float", float):
                number = int if f.type in ("int", int) else float
                try:
                    value = number(raw)
                    if not math.isfinite(value):  # nan would pass every comparison's test
                        raise ValueError(raw)
                except ValueError:
                    kind = "an integer" if number is int else "a number"
                    raise ValueError(f"{_ENV[f.name]}: expecting {kind}, not '{raw}'") from None
                setattr(config, f.name, value)
            else:
                setattr(config, f.name, raw)
        return config
