"""OpenAPI fragment for the pSConfig mesh routes (pscheduler/api/mesh.py)."""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import json_body, op, query, text_error

TAGS = ["mesh"]

_CELL = {
    "type": "object",
    "required": ["source", "destination", "status"],
    "properties": {
        "source": {"type": "string"},
        "destination": {"type": "string"},
        "lead": {"type": "string"},
        "status": {
            "enum": ["ok", "warning", "critical", "failed", "missing", "pending", "unreachable"]
        },
        "values": {"type": "object"},
        "summary": {"type": "string"},
        "run": {"type": ["string", "null"]},
        "task": {"type": ["string", "null"]},
        "time": {"type": ["string", "null"]},
    },
}

PATHS = {
    "/pscheduler/mesh": {
        "get": op(
            "The node's pSConfig templates (local files and remote copies) and their groups",
            {
                "200": json_body(
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["template", "source", "groups"],
                            "properties": {
                                "template": {"type": "integer"},
                                "source": {"type": "string"},
                                "groups": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    }
                )
            },
            tags=TAGS,
        )
    },
    "/pscheduler/mesh/grid": {
        "get": op(
            "Sources x destinations per task of a template group, with each pair's latest run",
            {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["grids", "thresholds"],
                        "properties": {
                            "template": {"type": "integer"},
                            "source": {"type": "string"},
                            "group": {"type": ["string", "null"]},
                            "time": {"type": "string"},
                            "thresholds": {"type": "object"},
                            "errors": {"type": "array", "items": {"type": "string"}},
                            "grids": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "task": {"type": "string"},
                                        "test": {"type": "string"},
                                        "group": {"type": "string"},
                                        "sources": {"type": "array", "items": {"type": "string"}},
                                        "destinations": {
                                            "type": "array",
                                            "items": {"type": "string"},
                                        },
                                        "cells": {"type": "array", "items": _CELL},
                                    },
                                },
                            },
                        },
                    }
                ),
                "400": text_error("Bad template number or thresholds"),
                "404": text_error("No such template or group"),
            },
            [
                query("template", {"type": "integer", "minimum": 0}, "Template number (default 0)"),
                query("group", {"type": "string"}, "Group name (default: every group)"),
                query(
                    "thresholds",
                    {"type": "string"},
                    'JSON: {"rtt": {"metric": "loss", "warning": 0.01, "critical": 0.1}}',
                ),
            ],
            tags=TAGS,
        )
    },
}
