"""Archiving counters: ``/stat/archiving/backlog`` (due now) and ``/upcoming`` (due later)."""

from __future__ import annotations

from flask import Blueprint

from pscheduler import archiving
from pscheduler.api import context
from pscheduler.api.responses import ok

bp = Blueprint("archiving", __name__)


@bp.get("/stat/archiving/backlog")
def backlog():
    return ok(str(archiving.backlog(context.db())))


@bp.get("/stat/archiving/upcoming")
def upcoming():
    return ok(str(archiving.upcoming(context.db())))
