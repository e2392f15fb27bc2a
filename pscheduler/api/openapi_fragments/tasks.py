"""OpenAPI fragment for the task routes (pscheduler/api/tasks.py, spec/api.md §2.3)."""

from __future__ import annotations

import copy

from pscheduler.api.openapi_fragments.common import (
    FORBIDDEN,
    KEY_PARAM,
    NOT_FOUND,
    TASK_PATH,
    URL,
    boolean,
    html_text,
    json_body,
    json_query,
    op,
    query,
    text_error,
)
from pscheduler.tasks.spec import MAX_SCHEMA, TASK

TAGS = ["tasks"]

_SPEC = copy.deepcopy(TASK)
_SPEC["properties"]["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_SCHEMA}
_SPEC["description"] = (
    "A task specification (schemas 1-5).  Members newer than `schema` are refused:"
    " `contexts` needs 2, `priority` 3, `debug` 4, `keep-after-archive` 5."
)

_TASK_REF = {"$ref": "#/components/schemas/Task"}
_EXAMPLE = {
    "schema": 1,
    "test": {"type": "idle", "spec": {"schema": 1, "duration": "PT1S"}},
    "schedule": {"start": "PT1H"},
}
_DETAIL = boolean("detail", "Add the `detail` object")
_EXPANDED = boolean("expanded", "Task objects instead of URLs")
_UUID_FROM_URL = "$response.body#regex:tasks.([0-9a-fA-F-]+)$"

SCHEMAS = {
    "TaskSpecification": _SPEC,
    "Task": {
        "type": "object",
        "description": "The stored task JSON (secrets sanitised to null unless `key` matches)",
        "required": ["test", "href"],
        "properties": {
            "test": {"type": "object"},
            "tool": {"type": "string"},
            "schedule": {"type": "object"},
            "href": URL,
            "detail": {
                "type": "object",
                "properties": {
                    "added": {"type": ["string", "null"]},
                    "anytime": {"type": "boolean"},
                    "exclusive": {"type": "boolean"},
                    "multi-result": {"type": "boolean"},
                    "cli": {"type": "array", "items": {"type": "string"}},
                    "diags": {"type": ["string", "null"]},
                    "duration": {"type": ["string", "null"]},
                    "post": {"type": ["string", "null"]},
                    "enabled": {"type": "boolean"},
                    "hints": {"type": ["object", "null"]},
                    "participant": {"type": "integer"},
                    "participants": {"type": "array"},
                    "runs": {"type": "integer"},
                    "runs-started": {"type": "integer"},
                    "slip": {"type": ["string", "null"]},
                    "start": {"type": ["string", "null"]},
                    "href": URL,
                    "runs-href": URL,
                    "first-run-href": URL,
                    "next-run-href": URL,
                },
            },
        },
    },
}

_CREATED_LINKS = {
    "GetTask": {"operationId": "getTask", "parameters": {"task": _UUID_FROM_URL}},
    "GetTaskCli": {"operationId": "getTaskCli", "parameters": {"task": _UUID_FROM_URL}},
    "ListRuns": {"operationId": "listRuns", "parameters": {"task": _UUID_FROM_URL}},
    "GetRuntimes": {"operationId": "getRuntimes", "parameters": {"task": _UUID_FROM_URL}},
    "GetFirstRun": {
        "operationId": "getRun",
        "parameters": {"task": _UUID_FROM_URL, "run": "first", "wait": "0"},
    },
    "CancelTask": {"operationId": "cancelTask", "parameters": {"task": _UUID_FROM_URL}},
}

_CREATE_ERRORS = {
    "400": text_error("`Invalid task specification: ...`, `Invalid test specification: ...`, ..."),
    "403": text_error("`Task forbidden by limits:` and the diagnostics"),
    "422": text_error("`Unable to complete request: ...` (no common tool, broken limit file)"),
}

PATHS = {
    "/pscheduler/tasks": {
        "get": op(
            "Every task this node knows, oldest first",
            {
                "200": json_body({"type": "array", "items": {"anyOf": [URL, _TASK_REF]}}),
                "400": text_error("`Invalid JSON: ...`"),
            },
            [
                json_query(
                    "json",
                    "Containment filter on the task and its detail",
                    example={"test": {"type": "idle"}},
                ),
                _EXPANDED,
                _DETAIL,
            ],
            tags=TAGS,
            operationId="listTasks",
        ),
        "post": op(
            "Create a task led by this node",
            {
                "200": json_body(
                    URL, "The new task's URL", example="https://host/pscheduler/tasks/<uuid>"
                )
                | {"links": _CREATED_LINKS},
                "303": {
                    **html_text("With `expanded`: the task URL, also in `Location`"),
                    "headers": {"Location": {"schema": URL, "required": True}},
                },
                **_CREATE_ERRORS,
                "501": text_error("`No API above 6 is supported`, or a feature not served here"),
            },
            [_EXPANDED, _DETAIL],
            body={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/TaskSpecification"},
                        "example": _EXAMPLE,
                    }
                },
            },
            tags=TAGS,
            operationId="createTask",
        ),
    },
    "/pscheduler/tasks/{task}": {
        "get": op(
            "One task (always expanded)",
            {"200": json_body(_TASK_REF), "403": FORBIDDEN, "404": NOT_FOUND},
            [TASK_PATH, _DETAIL, KEY_PARAM],
            tags=TAGS,
            operationId="getTask",
        ),
        "post": op(
            "Participant tasking: the lead posts the task it will run",
            {
                "200": {
                    "description": "The task's URL here (plain text, not JSON)",
                    "content": {"text/plain": {"schema": URL}},
                },
                "400": text_error(
                    "`Invalid JSON: ...`, `Invalid participant: ...`, `Task error: ...`"
                ),
                "403": text_error("`Task forbidden by limits:` and the diagnostics"),
                "404": NOT_FOUND,
                "422": text_error("`Unable to complete request: ...`"),
            },
            [
                TASK_PATH,
                query(
                    "participant",
                    {"type": "integer", "minimum": 1},
                    "This node's participant number",
                    required=True,
                ),
            ],
            body={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "allOf": [{"$ref": "#/components/schemas/TaskSpecification"}],
                            "description": "As the lead will run it, with `tool`,"
                            " `participants` and `_key`",
                        }
                    }
                },
            },
            tags=TAGS,
            operationId="postParticipantTask",
        ),
        "delete": op(
            "Cancel the task (idempotent)",
            {"200": html_text("`OK`"), "403": FORBIDDEN, "404": NOT_FOUND},
            [TASK_PATH, KEY_PARAM],
            tags=TAGS,
            operationId="cancelTask",
        ),
    },
    "/pscheduler/tasks/{task}/cli": {
        "get": op(
            "The task as command-line arguments: `[test, args...]`",
            {
                "200": json_body({"type": "array", "items": {"type": "string"}}),
                "404": NOT_FOUND,
            },
            [TASK_PATH],
            tags=TAGS,
            operationId="getTaskCli",
        )
    },
}
