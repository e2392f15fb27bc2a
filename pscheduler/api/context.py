"""Access to the per-application objects from inside a view."""

from __future__ import annotations

from flask import current_app

from pscheduler.config import Config
from pscheduler.db import Database


def config() -> Config:
    return current_app.extensions["pscheduler.config"]


def db() -> Database:
    return current_app.extensions["pscheduler.db"]
