"""OpenAPI fragment for the run routes (pscheduler/api/runs.py, spec/api.md §2.4)."""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import (
    FORBIDDEN,
    KEY_PARAM,
    NOT_FOUND,
    OK_TEXT,
    RUN_PATH,
    TASK_PATH,
    TIMESTAMP,
    URL,
    URL_LIST,
    boolean,
    json_body,
    op,
    path,
    query,
    text_error,
)

TAGS = ["runs"]

_TIME = {"type": "string", "format": "date-time"}
_RUN_UUID_PATH = path("run", {"type": "string", "format": "uuid"}, "Run UUID")
_WAIT = query(
    "wait",
    {"type": "integer", "minimum": 0, "maximum": 600},
    "Seconds to wait (default 30; 0 for `first`/`next` unless a wait flag is given)",
)
_CONFLICT = text_error("`Run would create a scheduling conflict.`")
_RUN_FROM_URL = "$response.body#regex:runs.([0-9a-fA-F-]+)$"

SCHEMAS = {
    "Run": {
        "type": "object",
        "required": ["start-time", "end-time", "state", "href", "task-href", "result-href"],
        "properties": {
            "start-time": TIMESTAMP,
            "end-time": TIMESTAMP,
            "duration": {"type": "string"},
            "participant": {"type": "integer"},
            "participants": {"type": "array"},
            "participant-data": {},
            "participant-data-full": {},
            "result": {},
            "result-full": {},
            "result-merged": {},
            "state": {"type": "string"},
            "state-display": {"type": "string"},
            "errors": {},
            "added": {"type": ["string", "null"]},
            "priority": {"type": ["integer", "null"]},
            "limit-diags": {"type": ["string", "null"]},
            "started": {"type": ["string", "null"]},
            "clock-survey": {},
            "archivings": {"type": "array"},
            "href": URL,
            "task-href": URL,
            "result-href": URL,
        },
    },
    "TimeRange": {
        "type": "object",
        "required": ["lower", "upper"],
        "properties": {
            "lower": {"type": ["string", "null"]},
            "upper": {"type": ["string", "null"]},
        },
    },
}

_START_TIME_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["start-time"],
                "properties": {"start-time": _TIME},
            }
        }
    },
}

PATHS = {
    "/pscheduler/tasks/{task}/runtimes": {
        "get": op(
            "Free time ranges for one run of the task on this node",
            {
                "200": json_body(
                    {"type": "array", "items": {"$ref": "#/components/schemas/TimeRange"}}
                ),
                "400": text_error("`Invalid start or end time`"),
                "404": NOT_FOUND,
            },
            [
                TASK_PATH,
                query("start", _TIME),
                query("end", _TIME),
                query(
                    "priority", {"type": "integer"}, "Count only runs of this priority or higher"
                ),
            ],
            tags=TAGS,
            operationId="getRuntimes",
        )
    },
    "/pscheduler/tasks/{task}/runs": {
        "get": op(
            "The task's run URLs by time (unknown task: `[]`)",
            {"200": json_body(URL_LIST), "400": text_error("A bad parameter"), "404": NOT_FOUND},
            [
                TASK_PATH,
                query("start", _TIME, "Runs starting at or after"),
                query("end", _TIME, "Runs ending at or before"),
                boolean("upcoming", "Only runs in progress or to come"),
                query("limit", {"type": "integer", "minimum": 1}),
            ],
            tags=TAGS,
            operationId="listRuns",
        ),
        "post": op(
            "Put a run on the lead's schedule (the scheduler does this)",
            {
                "200": json_body(URL, "The run's URL")
                | {
                    "links": {
                        "GetRun": {
                            "operationId": "getRun",
                            "parameters": {"task": "$request.path.task", "run": _RUN_FROM_URL},
                        }
                    }
                },
                "400": text_error("`Missing start time`, `Invalid JSON: ...`"),
                "403": FORBIDDEN,
                "404": NOT_FOUND,
                "409": _CONFLICT,
            },
            [TASK_PATH, KEY_PARAM],
            body=_START_TIME_BODY,
            tags=TAGS,
            operationId="postRun",
        ),
    },
    "/pscheduler/tasks/{task}/runs/{run}": {
        "get": op(
            "One run; `first` and `next` wait up to `wait` s for one to exist",
            {
                "200": json_body({"$ref": "#/components/schemas/Run"}),
                "400": text_error(
                    "`Cannot wait on local and merged results`, `Wait time must be >= 0`"
                ),
                "403": FORBIDDEN,
                "404": NOT_FOUND,
            },
            [
                TASK_PATH,
                RUN_PATH,
                _WAIT,
                boolean("wait-local", "Wait for this node's result"),
                boolean("wait-merged", "Wait for the merged result"),
                KEY_PARAM,
            ],
            tags=TAGS,
            operationId="getRun",
        ),
        "put": op(
            "Participant side: create the lead's run here, or update it",
            {
                "200": OK_TEXT,
                "400": text_error(
                    "`Invalid or missing run data`, `Missing start time`, `Invalid start time`,"
                    " `Missing success value`"
                ),
                "403": FORBIDDEN,
                "404": NOT_FOUND,
                "409": _CONFLICT,
            },
            [TASK_PATH, _RUN_UUID_PATH, KEY_PARAM],
            body={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "description": "New run: `start-time`.  Existing run: one of"
                            " `part-data-full` or `result-full` (with `succeeded`)",
                            "properties": {
                                "start-time": _TIME,
                                "part-data-full": {"type": "array"},
                                "result-full": {"type": "array"},
                                "succeeded": {"type": "boolean"},
                            },
                        }
                    }
                },
            },
            tags=TAGS,
            operationId="putRun",
        ),
        "delete": op(
            "Delete a run (not propagated to other participants)",
            {"200": OK_TEXT, "403": FORBIDDEN, "404": NOT_FOUND},
            [TASK_PATH, RUN_PATH, KEY_PARAM],
            tags=TAGS,
            operationId="deleteRun",
        ),
    },
    "/pscheduler/tasks/{task}/runs/{run}/result": {
        "get": op(
            "The run's merged result, as JSON or formatted by the test",
            {
                "200": {
                    "description": "The result (JSON null while a `wait` found none)",
                    "content": {
                        "application/json": {"schema": {}},
                        "text/plain": {"schema": {"type": "string"}},
                        "text/html": {"schema": {"type": "string"}},
                    },
                },
                "400": text_error("`Unsupported format ...`, `Wait time must be >= 0`"),
                "403": FORBIDDEN,
                "404": NOT_FOUND,
            },
            [
                TASK_PATH,
                RUN_PATH,
                query(
                    "format",
                    {"enum": ["application/json", "text/plain", "text/html"]},
                    "Default application/json",
                ),
                query("wait", {"type": "string"}, "Wait for the result: a flag or seconds"),
                boolean("wait-merged", "Wait (30 s unless `wait` says otherwise)"),
                KEY_PARAM,
            ],
            tags=TAGS,
            operationId="getRunResult",
        )
    },
}
