"""JSON Schemas of the limit file (``LimitConfiguration_V1``..``V4``) and shared pieces.

Each version is its own schema so an error names the member that is wrong.  Limit entries
are validated one by one by ``limitset`` (plain or clone), which the original never did.
"""

from __future__ import annotations

DURATION = {
    "type": "string",
    "pattern": r"^[Pp](?!$)(\d+(\.\d+)?[Ww])?(\d+(\.\d+)?[Dd])?([Tt](?=\d)(\d+(\.\d+)?[Hh])?(\d+(\.\d+)?[Mm])?(\d+(\.\d+)?[Ss])?)?$",
    "x-invalid-message": "'%s' is not a valid ISO 8601 duration",
}

TIMESTAMP = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$",
    "x-invalid-message": "'%s' is not a valid ISO 8601 timestamp",
}

JQ_TRANSFORM = {
    "type": "object",
    "properties": {
        "script": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        },
        "args": {"type": "object"},
        "output-raw": {"type": "boolean"},
    },
    "required": ["script"],
    "additionalProperties": False,
}

STRING_MATCH = {
    "type": "object",
    "properties": {
        "style": {"enum": ["exact", "contains", "regex"]},
        "match": {"type": "string"},
        "case-insensitive": {"type": "boolean"},
        "invert": {"type": "boolean"},
    },
    "required": ["style", "match"],
    "additionalProperties": False,
}

NAME = {"type": "string", "minLength": 1}

IDENTIFIER = {
    "type": "object",
    "properties": {
        "name": NAME,
        "description": {"type": "string"},
        "type": {"type": "string"},
        "data": {},
        "invert": {"type": "boolean"},
    },
    "required": ["name", "description", "type", "data"],
    "additionalProperties": False,
}

LIMIT_PLAIN = {
    "type": "object",
    "properties": {
        "name": NAME,
        "description": {"type": "string"},
        "type": {"type": "string"},
        "data": {"type": "object"},
        "invert": {"type": "boolean"},
    },
    "required": ["name", "description", "type", "data"],
    "additionalProperties": False,
}

LIMIT_CLONE = {
    "type": "object",
    "properties": {
        "name": NAME,
        "description": {"type": "string"},
        "clone": NAME,
        "data": {"type": "object"},
        "invert": {"type": "boolean"},
    },
    "required": ["name", "description", "clone", "data"],
    "additionalProperties": False,
}

REQUIRE = {"enum": ["none", "one", "any", "all"]}

APPLICATION = {
    "type": "object",
    "properties": {
        "description": {"type": "string"},
        "classifier": {"type": "string"},
        "apply": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "require": REQUIRE,
                    "limits": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["require", "limits"],
                "additionalProperties": False,
            },
        },
        "stop-on-failure": {"type": "boolean"},
        "invert": {"type": "boolean"},
    },
    "required": ["apply"],
    "additionalProperties": False,
}


def _classifier(with_require: bool) -> dict:
    props = {
        "name": NAME,
        "description": {"type": "string"},
        "identifiers": {"type": "array", "items": {"type": "string"}},
    }
    if with_require:
        props["require"] = REQUIRE
    return {
        "type": "object",
        "properties": props,
        "required": ["name", "description", "identifiers"],
        "additionalProperties": False,
    }


def configuration(version: int) -> dict:
    """The schema of a whole limit file of schema ``version`` (1..4)."""
    props = {
        "schema": {"const": version} if version > 1 else {"enum": [1]},
        "identifiers": {"type": "array", "items": IDENTIFIER},
        "classifiers": {"type": "array", "items": _classifier(version >= 4)},
        "limits": {"type": "array", "items": {"type": "object"}},
        "applications": {"type": "array", "items": APPLICATION},
    }
    if version >= 2:
        props["rewrite"] = JQ_TRANSFORM
    if version >= 3:
        props["priority"] = JQ_TRANSFORM
    return {
        "type": "object",
        "properties": props,
        "required": ["identifiers", "classifiers", "limits", "applications"],
        "additionalProperties": False,
    }


SUPPORTED_VERSIONS = (1, 2, 3, 4)
