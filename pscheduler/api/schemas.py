"""JSON Schemas of what the API answers, for ``components.schemas`` of the OpenAPI document.

Objects the server builds are closed (``additionalProperties: false``, every member that is
always there required) so that schemathesis and tests/openapi/test_wire_schemas.py notice a
member renamed, added or dropped in pscheduler/wire.py, node/status.py, scheduling/view.py or
monitor/panoptes.py.  What a plugin or a client owns (a test spec, results, archive data, a
plugin's enumeration) stays open.
"""

from __future__ import annotations

import copy

from pscheduler.monitor.panoptes import SPEC_STATUSES
from pscheduler.tasks.spec import MAX_SCHEMA, TASK
from pscheduler.toolkit import vocabulary

URL = {"type": "string", "format": "uri"}
URL_LIST = {"type": "array", "items": URL}
TIMESTAMP = {"type": "string", "format": "date-time"}
MAYBE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
DURATION = {"type": "string", "description": "ISO 8601 duration (W/D/H/M/S only)"}
MAYBE_DURATION = {"type": ["string", "null"], "description": DURATION["description"]}
MAYBE_STRING = {"type": ["string", "null"]}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
#: Paging of lists (GET /tasks, /tasks/<t>/runs): no ``limit`` means every item, as the original.
PAGE_LIMIT = {"type": "integer", "minimum": 1}
PAGE_OFFSET = {"type": "integer", "minimum": 0, "default": 0}
STRINGS = {"type": "array", "items": {"type": "string"}}
OWNED_BY_PLUGIN: dict = {}  # any JSON value: the plugin, not the server, decides its shape
RUN_STATES = list(vocabulary.RUN_STATES)


def closed(properties: dict, optional: tuple[str, ...] = ()) -> dict:
    """An object with exactly these members; all are required but the ``optional`` ones."""
    unknown = set(optional) - set(properties)
    assert not unknown, f"optional members not in properties: {unknown}"
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name in properties if name not in optional],
        "properties": properties,
    }


def ref(name: str) -> dict:
    """``{"$ref": ...}`` to a component; a name not in SCHEMAS fails at import."""
    if name not in SCHEMAS:
        raise KeyError(f"No component schema {name!r}")
    return {"$ref": f"#/components/schemas/{name}"}


def _task_specification() -> dict:
    spec = copy.deepcopy(TASK)
    spec["properties"]["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_SCHEMA}
    spec["description"] = (
        "A task specification (schemas 1-5).  Members newer than `schema` are refused:"
        " `contexts` needs 2, `priority` 3, `debug` 4, `keep-after-archive` 5."
    )
    return spec


def _task() -> dict:
    """The stored task (a validated TaskSpecification with `tool` filled in, `participants`
    kept apart), its `href` and, with ``?detail``, its `detail`.  `schema` is optional: a lead
    of the original may leave it out of the task it posts to us."""
    members = copy.deepcopy(TASK["properties"])
    del members["participants"]
    members["_key"]["description"] = "null unless the task's key was given"
    task = closed(
        {
            **members,
            "href": URL,
            "detail": {"$ref": "#/components/schemas/TaskDetail"},
            "latest-run": {
                "anyOf": [{"$ref": "#/components/schemas/Run"}, {"type": "null"}],
                "description": "GET /tasks?expanded&latest-run only (an extension)",
            },
        },
        optional=tuple(k for k in members if k not in ("test", "tool", "schedule"))
        + ("detail", "latest-run"),
    )
    task["description"] = "A task as the API shows it (pscheduler/wire.py task_json)"
    return task


_TASK_DETAIL = closed(
    {
        "added": MAYBE_TIMESTAMP,
        "anytime": BOOLEAN,
        "exclusive": BOOLEAN,
        "multi-result": BOOLEAN,
        "cli": STRINGS,
        "diags": MAYBE_STRING,
        "duration": MAYBE_DURATION,
        "post": MAYBE_DURATION,
        "enabled": BOOLEAN,
        "hints": {"type": ["object", "null"]},
        "participant": {"type": "integer", "minimum": 0},
        "participants": {"type": "array", "items": MAYBE_STRING},
        "runs": INTEGER,
        "runs-started": INTEGER,
        "slip": MAYBE_DURATION,
        "start": MAYBE_TIMESTAMP,
        "href": URL,
        "runs-href": URL,
        "first-run-href": URL,
        "next-run-href": URL,
    }
)

_ENUMERATION = {
    "type": "object",
    "description": "A plugin's enumeration (the plugin owns it), with `href` where listed",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "version": {"type": "string"},
        "maintainer": {"type": "object"},
        "scheduling-class": {"enum": ["background", "background-multi", "exclusive", "normal"]},
        "tests": STRINGS,
        "preference": INTEGER,
        "href": URL,
    },
}

_ARCHIVING_DIAG = closed(
    {
        "time": MAYBE_STRING,
        "succeeded": BOOLEAN,
        "attempt": BOOLEAN,
        "message": MAYBE_STRING,
        "next-attempt": MAYBE_TIMESTAMP,
    }
)

_ARCHIVING = closed(
    {
        "archiver": {"$ref": "#/components/schemas/Enumeration"},
        "archiver_data": OWNED_BY_PLUGIN,
        "spec": {"type": "object", "description": "The archive spec (secrets sanitised)"},
        "default": BOOLEAN,
        "completed": BOOLEAN,
        "archived": BOOLEAN,
        "attempts": {"type": "integer", "minimum": 0},
        "last_attempt": MAYBE_TIMESTAMP,
        "next_attempt": MAYBE_TIMESTAMP,
        "ttl_expires": MAYBE_TIMESTAMP,
        "diags": {"type": "array", "items": {"$ref": "#/components/schemas/ArchivingDiag"}},
    }
)

_RUN = closed(
    {
        "start-time": TIMESTAMP,
        "end-time": TIMESTAMP,
        "duration": DURATION,
        "participant": {"type": "integer", "minimum": 0},
        "participants": {"type": "array", "items": MAYBE_STRING},
        "participant-data": OWNED_BY_PLUGIN,
        "participant-data-full": {"type": ["array", "null"]},
        "result": OWNED_BY_PLUGIN,
        "result-full": {"type": ["array", "null"]},
        "result-merged": OWNED_BY_PLUGIN,
        "state": {"enum": RUN_STATES},
        "state-display": {"type": "string"},
        "errors": MAYBE_STRING,
        "added": TIMESTAMP,
        "priority": {"type": ["integer", "null"]},
        "limit-diags": MAYBE_STRING,
        "started": MAYBE_TIMESTAMP,
        "clock-survey": {"type": "array", "description": "The participants' clocks"},
        "archivings": {"type": "array", "items": {"$ref": "#/components/schemas/Archiving"}},
        "href": URL,
        "task-href": URL,
        "result-href": URL,
    },
    optional=("clock-survey", "archivings"),
)
_RUN["description"] = (
    "A run (pscheduler/wire.py run_json); `archivings` only when the run has some,"
    " `clock-survey` only after a failed multi-participant run"
)

_SERVICE = closed(
    {
        "uptime": MAYBE_DURATION,
        "updates": {"type": ["integer", "null"]},
        "last": MAYBE_TIMESTAMP,
        "next_time": MAYBE_DURATION,
        "expected": MAYBE_TIMESTAMP,
        "overdue": {**MAYBE_DURATION, "description": "non-null: the daemon missed its beat"},
    }
)

_NUMBER = {"type": "number"}
_HOST = closed(
    {
        "load": closed({"1": _NUMBER, "5": _NUMBER, "15": _NUMBER}),
        "cpu-percent": _NUMBER,
        "memory-percent": _NUMBER,
        "disk-percent": {"type": ["number", "null"]},
        "state-dir-free-bytes": {
            "type": ["integer", "null"],
            "description": "Bytes free on the file system holding the state dir; near 0 the "
            "API answers 507 to writes",
        },
        "state-dir-full": {
            "type": "boolean",
            "description": "The state dir's file system is (all but) full",
        },
        "cpu-count": {"type": ["integer", "null"]},
        "architecture": {"type": "string"},
    }
)

_KERNEL_CLOCK = closed(
    {
        "synchronized": BOOLEAN,
        "state": INTEGER,
        "offset": _NUMBER,
        "maxerror": _NUMBER,
        "esterror": _NUMBER,
    }
)
# /status's clock: /clock's answer less ``time``, with the diagnosis /clock may not carry.
_CLOCK_DIAGNOSIS = closed(
    {
        "synchronized": BOOLEAN,
        "source": {"enum": ["chrony", "ntp", "unknown"]},
        "reference": {"type": "string"},
        "offset": _NUMBER,
        "kernel": {"anyOf": [_KERNEL_CLOCK, {"type": "null"}]},
        "problem": {"type": "string", "description": "why the clock is not synchronized"},
        "ntp-check": closed(
            {"server": {"type": "string"}, "offset": _NUMBER, "error": {"type": "string"}},
            optional=("offset", "error"),
        ),
    },
    optional=("reference", "offset", "problem", "ntp-check"),
)
_NODE_STATUS = closed(
    {
        "time": TIMESTAMP,
        "limits": closed({"ok": BOOLEAN, "error": {"type": "string"}}, optional=("error",)),
        "services": {"type": "object", "additionalProperties": _SERVICE},
        "runs": closed({"last-finished": MAYBE_TIMESTAMP, "last-scheduled": MAYBE_TIMESTAMP}),
        "host": _HOST,
        "clock": _CLOCK_DIAGNOSIS,
        "psconfig": {
            "type": "object",
            "description": "the pSConfig agent's last cycle (templates, task counts, errors)",
        },
    },
    optional=("psconfig",),
)

_ENTRY = {
    "start-time": TIMESTAMP,
    "end-time": TIMESTAMP,
    "href": URL,
    "result-href": URL,
    "state": {"enum": RUN_STATES},
    "state-display": {"type": "string"},
    "task": {"$ref": "#/components/schemas/Task"},
    "cli": STRINGS,
    "priority": {"type": ["integer", "null"]},
}
_MAYBE_ENUMERATION = {"anyOf": [{"$ref": "#/components/schemas/Enumeration"}, {"type": "null"}]}

_MONITOR_STATUS = {"enum": list(SPEC_STATUSES)}
_MONITOR_WORKFLOW = closed(
    {
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string"},
        "status": _MONITOR_STATUS,
        "started_at": MAYBE_TIMESTAMP,
        "completed_at": MAYBE_TIMESTAMP,
        "jobs_total": INTEGER,
        "jobs_done": INTEGER,
        "kind": {"enum": ["task", "reported"]},
    }
)
_MONITOR_JOB = closed(
    {
        "jobid": {"type": ["string", "integer"]},
        "workflow_id": {"type": "string", "format": "uuid"},
        "name": {"type": "string"},
        "input": STRINGS,
        "output": STRINGS,
        "status": _MONITOR_STATUS,
        "started_at": MAYBE_TIMESTAMP,
        "completed_at": MAYBE_TIMESTAMP,
        "log": {"type": "string"},
        "message": {"description": "The run's state display, or what the client reported"},
        "href": {**URL, "description": "Runs of a task only"},
        "state": {"enum": RUN_STATES, "description": "Runs of a task only"},
        "wildcards": {"description": "Reported jobs only"},
        "is_checkpoint": {"type": "boolean", "description": "Reported jobs only"},
    },
    optional=("href", "state", "wildcards", "is_checkpoint"),
)

SCHEMAS: dict[str, dict] = {
    "TaskSpecification": _task_specification(),
    "Task": _task(),
    "TaskDetail": _TASK_DETAIL,
    "Run": _RUN,
    "Archiving": _ARCHIVING,
    "ArchivingDiag": _ARCHIVING_DIAG,
    "TimeRange": closed({"lower": MAYBE_TIMESTAMP, "upper": MAYBE_TIMESTAMP}),
    "Enumeration": _ENUMERATION,
    "CanRun": closed(
        {
            "can-run": {
                "type": "object",
                "description": "The tool's verdict (the tool owns it)",
                "required": ["can-run"],
                "properties": {"can-run": BOOLEAN, "reasons": STRINGS},
            },
            "tool": {"$ref": "#/components/schemas/Enumeration"},
        }
    ),
    "Validity": {
        "type": "object",
        "description": "A plugin's verdict (the plugin owns it)",
        "required": ["valid"],
        "properties": {"valid": BOOLEAN, "error": MAYBE_STRING},
    },
    "Clock": closed(
        {
            "time": TIMESTAMP,
            "synchronized": BOOLEAN,
            "source": {"enum": ["chrony", "ntp", "unknown"]},
            "reference": {"type": "string", "description": "only when synchronized"},
            "offset": {"type": "number", "description": "seconds; only when synchronized"},
        },
        # The original's SystemClockStatus, which other hosts validate strictly.
        optional=("reference", "offset"),
    ),
    "NodeStatus": _NODE_STATUS,
    "PauseState": closed(
        {"is_paused": BOOLEAN, "infinite": BOOLEAN, "remaining": DURATION},
        optional=("infinite", "remaining"),
    ),
    "ScheduleEntry": closed(
        {
            **_ENTRY,
            "test": _MAYBE_ENUMERATION,
            "tool": _MAYBE_ENUMERATION,
            "scheduling-class": MAYBE_STRING,
            "errors": MAYBE_STRING,
        }
    ),
    "MonitorEntry": closed(
        {"ppf": {"enum": [-1, 0, 1], "description": "past, present, future"}, **_ENTRY}
    ),
    "Requesters": closed(
        {
            "start": MAYBE_TIMESTAMP,
            "end": MAYBE_TIMESTAMP,
            "requesters": {
                "type": "array",
                "items": closed(
                    {
                        "requester": {"type": "string"},
                        "tasks": INTEGER,
                        "runs": INTEGER,
                        "runs-failed": INTEGER,
                        "exclusive-seconds": _NUMBER,
                    }
                ),
            },
        }
    ),
    "MonitorWorkflow": _MONITOR_WORKFLOW,
    "MonitorJob": _MONITOR_JOB,
    "MonitorJobs": closed(
        {
            "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/MonitorJob"}},
            "count": INTEGER,
        }
    ),
    "MonitorUpdate": {
        "type": "object",
        "description": "A client's progress report (the client owns it)",
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
                    "input": STRINGS,
                    "output": STRINGS,
                    "log": {"type": "string"},
                    "done": INTEGER,
                    "total": INTEGER,
                },
            },
            "timestamp": {"type": "string", "description": "ISO 8601, str(datetime) or asctime"},
            "id": {"type": "string", "format": "uuid"},
        },
    },
    "MonitorError": closed(
        {
            "errors": {
                "type": "array",
                "items": closed(
                    {"code": INTEGER, "message": {"type": "string"}, "detail": {"type": "string"}}
                ),
            }
        }
    ),
}
