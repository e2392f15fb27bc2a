"""OpenAPI fragments for the open interfaces: /m1/ (Panoptes), metrics, control, accounting."""

from __future__ import annotations

_ERRORS = {
    "description": "Error in the Panoptes shape",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "integer"},
                                "message": {"type": "string"},
                                "detail": {"type": "string"},
                            },
                        },
                    }
                },
            }
        }
    },
}

SCHEMAS = {
    "MonitorWorkflow": {
        "type": "object",
        "required": ["id", "name", "status", "started_at", "completed_at"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string"},
            "status": {"enum": ["running", "pending", "error", "cancelled", "completed"]},
            "started_at": {"type": ["string", "null"], "format": "date-time"},
            "completed_at": {"type": ["string", "null"], "format": "date-time"},
            "jobs_total": {"type": "integer"},
            "jobs_done": {"type": "integer"},
            "kind": {"enum": ["task", "reported"]},
        },
    },
    "MonitorJob": {
        "type": "object",
        "required": ["jobid", "workflow_id", "name", "input", "output", "status", "log"],
        "properties": {
            "jobid": {"type": ["string", "integer"]},
            "workflow_id": {"type": "string", "format": "uuid"},
            "name": {"type": "string"},
            "input": {"type": "array", "items": {"type": "string"}},
            "output": {"type": "array", "items": {"type": "string"}},
            "status": {"enum": ["running", "pending", "error", "cancelled", "completed"]},
            "started_at": {"type": ["string", "null"], "format": "date-time"},
            "completed_at": {"type": ["string", "null"], "format": "date-time"},
            "log": {"type": "string"},
            "message": {},
            "wildcards": {},
            "is_checkpoint": {"type": "boolean"},
        },
    },
    "MonitorUpdate": {
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {
                "type": "object",
                "description": "jobid required except for level 'progress' (done, total)",
                "properties": {
                    "jobid": {"type": ["string", "integer"]},
                    "level": {"type": "string"},
                    "status": {"type": "string"},
                    "name": {"type": "string"},
                    "input": {"type": "array", "items": {"type": "string"}},
                    "output": {"type": "array", "items": {"type": "string"}},
                    "log": {"type": "string"},
                    "done": {"type": "integer"},
                    "total": {"type": "integer"},
                },
            },
            "timestamp": {"type": "string", "description": "ISO 8601, str(datetime) or asctime"},
            "id": {"type": "string", "format": "uuid"},
        },
    },
}


def _json(ref_or_schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref_or_schema}}}


_WF = {"$ref": "#/components/schemas/MonitorWorkflow"}
_JOBS = {
    "type": "object",
    "properties": {
        "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/MonitorJob"}},
        "count": {"type": "integer"},
    },
}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_ADMIN = "Needs 'Authorization: Bearer <admin token>' (a local source address is not enough)."

PATHS = {
    "/m1/": {
        "get": {
            "summary": "Panoptes service info",
            "responses": {"200": _json({"type": "object"}), "503": _ERRORS},
        }
    },
    "/m1/statuses/": {
        "get": {
            "summary": "Statuses and the run states each stands for",
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/m1/workflow/create/": {
        op: {
            "summary": "Create a reported workflow (optional body or ?name=)",
            "responses": {
                "201": _json({"type": "object", "properties": {"id": {"type": "string"}}})
            },
        }
        for op in ("get", "post")
    },
    "/m1/workflows/": {
        "get": {
            "summary": "Tasks and reported workflows",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "workflows": {"type": "array", "items": _WF},
                            "count": {"type": "integer"},
                        },
                    }
                )
            },
        },
        "delete": {
            "summary": "Delete every reported workflow (tasks stay). " + _ADMIN,
            "responses": {"200": _json({"type": "object"}), "403": _ERRORS, "410": _ERRORS},
        },
    },
    "/m1/workflow/{id}/": {
        "parameters": [_ID],
        "get": {
            "summary": "One workflow",
            "responses": {
                "200": _json({"type": "object", "properties": {"workflow": _WF}}),
                "404": _ERRORS,
            },
        },
        "post": {
            "summary": "Report progress",
            "requestBody": _json({"$ref": "#/components/schemas/MonitorUpdate"}, "update"),
            "responses": {
                "202": _json({"type": "object"}),
                "400": _ERRORS,
                "403": _ERRORS,
                "404": _ERRORS,
            },
        },
        "put": {
            "summary": "Report progress ({message}) or rename ({name})",
            "responses": {
                "200": _json({"type": "object"}),
                "202": _json({"type": "object"}),
                "400": _ERRORS,
                "403": _ERRORS,
                "404": _ERRORS,
            },
        },
        "delete": {
            "summary": "Delete a reported workflow (403 for tasks or while running without ?force)",
            "responses": {"204": {"description": "Deleted"}, "403": _ERRORS, "404": _ERRORS},
        },
    },
    "/m1/workflow/{id}/jobs/": {
        "parameters": [_ID],
        "get": {
            "summary": "A workflow's jobs (a task's runs)",
            "responses": {"200": _json(_JOBS), "404": _ERRORS},
        },
    },
    "/m1/workflow/{id}/job/{jobid}/": {
        "parameters": [
            _ID,
            {"name": "jobid", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "get": {"summary": "One job", "responses": {"200": _json(_JOBS), "404": _ERRORS}},
    },
    "/pscheduler/metrics": {
        "get": {
            "summary": "Prometheus metrics (pscheduler_*)",
            "responses": {
                "200": {"description": "Exposition format", "content": {"text/plain": {}}}
            },
        }
    },
    "/pscheduler/control/pause": {
        "put": {
            "summary": "Pause runs, for ?duration= (ISO 8601) or until resumed. " + _ADMIN,
            "responses": {
                "200": _json({"type": "object"}),
                "400": {"description": "Bad duration"},
                "403": {"description": "Forbidden"},
            },
        }
    },
    "/pscheduler/control/resume": {
        "put": {
            "summary": "Resume runs. " + _ADMIN,
            "responses": {"200": _json({"type": "object"}), "403": {"description": "Forbidden"}},
        }
    },
    "/pscheduler/stat/requesters": {
        "get": {
            "summary": "Tasks, runs, failed runs and exclusive seconds per requester, busiest first",
            "parameters": [
                {
                    "name": n,
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "ISO 8601 or +/-duration from now",
                }
                for n in ("start", "end")
            ],
            "responses": {"200": _json({"type": "object"}), "400": {"description": "Bad time"}},
        }
    },
}
