"""OpenAPI 3.1 fragments written beside the routes, one module per blueprint family.

``FAMILIES`` lists them for the builder (pscheduler/openapi.py); a new blueprint adds its
module here.  Each module has ``PATHS`` and may have ``SCHEMAS``; operations under
/pscheduler are built with ``common.op`` so they carry the global parameters and errors.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

from pscheduler.api.openapi_fragments import (
    admin,
    apidoc,
    catalog,
    dashboard,
    events,
    interfaces,
    limits,
    mesh,
    runs,
    schedule,
    stat,
    tasks,
)

INFO = {
    "title": "pScheduler API",
    "version": "6",
    "description": (
        "Routes under /pscheduler are wire-compatible with perfSONAR pScheduler (API level 6):"
        " errors are plain text ending with a newline.  The Panoptes monitor routes under /m1"
        ' answer errors as JSON `{"errors": [{code, message, detail}]}`.'
    ),
}


def _bare_monitor_routes() -> SimpleNamespace:
    """Every /m1 route is served with and without its trailing slash: describe both."""
    bare = {}
    for path, item in interfaces.PATHS.items():
        if path.startswith("/m1/") and path.endswith("/") and path != "/m1/":
            bare[path.rstrip("/")] = copy.deepcopy(item)
    bare["/m1"] = copy.deepcopy(interfaces.PATHS["/m1/"])
    for item in bare.values():
        for operation in item.values():
            if isinstance(operation, dict) and "summary" in operation:
                operation["summary"] += " (without the trailing slash)"
    return SimpleNamespace(__name__="monitor-bare", PATHS=bare)


FAMILIES = (
    admin,
    apidoc,
    stat,
    catalog,
    tasks,
    runs,
    schedule,
    limits,
    interfaces,
    _bare_monitor_routes(),
    events,
    dashboard,
    mesh,
)
