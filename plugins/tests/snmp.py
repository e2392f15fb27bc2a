"""The SNMP tests: ``snmpget`` (poll OIDs ``polls`` times, ``period`` seconds apart),
``snmpgetbgm`` (the same as a background-multi test: each poll becomes a run of its own)
and ``snmpset`` (set OIDs to typed values).

v1/v2c specs carry the community as ``_community`` (a secret, hidden in task listings);
v3 specs carry ``security-name`` and the protocols and ``_auth-key``/``_priv-key`` their
``security-level`` needs, as the original's.  ``dest`` may carry a port (``host:port``,
``[v6]:port``); SNMP's 161 otherwise.

Result ``data`` holds one entry per OID, in the spec's order: ``{type, value, timestamp}``
(``type`` absent when the agent answered NoSuchObject/NoSuchInstance, which is then the
``value``).  With more than one poll each entry is the list of that OID's samples, each with
``seq_num`` and, from the second on for numbers, ``delta`` and ``timedelta`` (seconds).
"""

from __future__ import annotations

import html
import re

from pscheduler_plugins.common import (
    BOOLEAN,
    CARDINAL,
    DURATION,
    HOST,
    STRING,
    check_mime,
    enumeration,
    participants_from,
    versioned,
)

from pscheduler.hookspecs import Test, UsageError, hookimpl
from pscheduler.toolkit.speccli import SpecParser

OID = {"type": "string", "minLength": 1, "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"}
VERSION = {"type": "string", "enum": ["1", "2c", "3"]}
AUTH_PROTOCOLS = ["MD5", "SHA"]
PRIV_PROTOCOLS = ["AES", "AES128", "AES192", "AES256", "DES", "3DES"]
SECURITY_LEVELS = ["noAuthNoPriv", "authNoPriv", "authPriv"]
VARTYPES = ["i", "u", "t", "a", "o", "s", "x", "d", "b"]


def _any_case(values: list[str]) -> dict:
    """The original accepted both its upper-case and its older lower-case spellings."""
    return {"type": "string", "enum": sorted(set(values) | {v.lower() for v in values})}


_COMMON = {
    "schema": {"type": "integer", "enum": [1]},
    "host": HOST,
    "host-node": HOST,
    "dest": HOST,
    "version": VERSION,
    "protocol": {"type": "string", "enum": ["udp", "tcp"]},
    "timeout": DURATION,
}
_V1 = {"_community": STRING}
_V3 = {
    "security-name": STRING,
    "auth-protocol": _any_case(AUTH_PROTOCOLS),
    "priv-protocol": _any_case(PRIV_PROTOCOLS),
    "_auth-key": STRING,
    "_priv-key": STRING,
    "security-level": _any_case(SECURITY_LEVELS),
    "context": STRING,
}
V3_KEYS = list(_V3)


def _spec_schema(extra: dict, required: list[str]) -> dict:
    """One closed schema; versions 1/2c require the community (``_version_keys`` keeps each
    version's keys to it)."""
    return {
        "type": "object",
        "properties": {**_COMMON, **_V1, **_V3, **extra},
        "required": ["version", "dest", *required],
        "additionalProperties": False,
        "if": {"properties": {"version": {"const": "3"}}, "required": ["version"]},
        "else": {"required": ["_community"]},
    }


GET_SPEC = _spec_schema(
    {
        "oid": {"type": "array", "items": OID, "minItems": 1},
        "polls": CARDINAL,
        "period": CARDINAL,
    },
    ["oid", "polls"],
)
SET_SPEC = _spec_schema(
    {
        "oidargs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "oid": OID,
                    "type": {"type": "string", "enum": VARTYPES},
                    "value": {"type": ["string", "number"]},
                },
                "required": ["oid", "type", "value"],
                "additionalProperties": False,
            },
        }
    },
    ["oidargs"],
)
GET_SCHEMA, _get_is_valid = versioned({1: GET_SPEC})
SET_SCHEMA, _set_is_valid = versioned({1: SET_SPEC})


def _version_keys(spec: dict) -> str | None:
    """Keys of the other SNMP version, named in a sentence rather than a schema error."""
    if not isinstance(spec, dict):
        return None
    if spec.get("version") == "3" and "_community" in spec:
        return "A community applies only to SNMP versions 1 and 2c"
    if spec.get("version") in ("1", "2c"):
        extra = [k for k in V3_KEYS if k in spec]
        if extra:
            return f"{', '.join(extra)} applies only to SNMP version 3"
    return None


def _with_version_check(schema_check):
    def spec_is_valid(spec: dict) -> dict:
        error = _version_keys(spec)
        return {"valid": False, "error": error} if error else schema_check(spec)

    return spec_is_valid


get_is_valid = _with_version_check(_get_is_valid)
set_is_valid = _with_version_check(_set_is_valid)

SNMP_VALUE = {
    "type": "object",
    "properties": {
        "type": {"type": ["string", "null"]},
        "value": {},
        "timestamp": STRING,
        "seq_num": {"type": "integer", "minimum": 0},
        "delta": {"type": "number"},
        "timedelta": {"type": "number"},
    },
    "required": ["value"],
}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [1]},
        "succeeded": BOOLEAN,
        "error": {"type": ["string", "null"]},
        "diags": {"type": ["string", "null"]},
        "time": DURATION,
        "data": {
            "type": "array",
            "items": {"anyOf": [SNMP_VALUE, {"type": "array", "items": SNMP_VALUE}]},
        },
    },
    "required": ["succeeded"],
    "if": {"properties": {"succeeded": {"const": True}}},
    "then": {"required": ["succeeded", "data", "time"]},
}

# (spec key, option) pairs; the CLI names the secrets without their leading underscore.
_STRINGS = [
    ("host", "host"),
    ("host-node", "host-node"),
    ("dest", "dest"),
    ("version", "version"),
    ("protocol", "protocol"),
    ("timeout", "timeout"),
    ("_community", "community"),
    ("security-name", "security-name"),
    ("auth-protocol", "auth-protocol"),
    ("priv-protocol", "priv-protocol"),
    ("_auth-key", "auth-key"),
    ("_priv-key", "priv-key"),
    ("security-level", "security-level"),
    ("context", "context"),
]

GET_EPILOG = """Examples:
  task {name} --dest router.example.net --version 2c --community public \\
       --oid 1.3.6.1.2.1.1.3.0 --oid 1.3.6.1.2.1.1.5.0
      Gets the agent's uptime and name
  task {name} --dest 192.0.2.1 --version 2c --community public --oid 1.3.6.1.2.1.2.2.1.10.1 \\
       --polls 5 --period 10
      Polls an interface counter five times, ten seconds apart (with deltas)
  task {name} --dest router.example.net --version 3 --security-name me \\
       --security-level authPriv --auth-protocol SHA --auth-key secret1 \\
       --priv-protocol AES --priv-key secret2 --oid 1.3.6.1.2.1.1.3.0
"""

SET_EPILOG = """Can set several OIDs by giving --oidargs more than once, each OID:TYPE:VALUE
(TYPE as snmpset's: i u t a o s x d b).

Example:
  task snmpset --version 2c --community private --dest router.example.net \\
       --oidargs 1.3.6.1.2.1.1.6.0:s:'Ann Arbor' --oidargs 1.3.6.1.2.1.1.4.0:s:John
"""

_OIDARG = re.compile(r"^(.+?):([iutaosxdb]):(.*)$", re.DOTALL)


def _parser(prog: str, description: str, epilog: str) -> SpecParser:
    parser = SpecParser(prog=prog, description=description, epilog=epilog)
    for _, option in _STRINGS:
        parser.add_argument(f"--{option}", dest=option.replace("-", "_"))
    return parser


def _common_spec(args) -> dict:
    spec: dict = {"schema": 1}
    for key, option in _STRINGS:
        value = getattr(args, option.replace("-", "_"))
        if value is not None:
            spec[key] = value
    return spec


def _common_cli(spec: dict) -> list[str]:
    """The secrets (``_`` keys) are left out: a task's stored CLI is shown to anyone who may
    read the task, while its ``_`` members are hidden from them."""
    out: list[str] = []
    for key, option in _STRINGS:
        if spec.get(key) is not None and not key.startswith("_"):
            out += [f"--{option}", str(spec[key])]
    return out


def get_cli_to_spec(name: str):
    def cli_to_spec(args: list) -> dict:
        parser = _parser(
            name, "Query an SNMP agent for OIDs.", GET_EPILOG.format(name=name)
        )  # fmt: skip
        parser.add_argument("--oid", action="append", help="OID to get (repeat, or a,b,c)")
        parser.add_argument("--polls", type=int, default=1, help="Number of polls (1)")
        parser.add_argument("--period", type=int, help="Seconds between polls")
        args = parser.parse_spec_args(args)
        spec = _common_spec(args)
        oids = [o for item in args.oid or [] for o in item.split(",") if o]
        if oids:
            spec["oid"] = oids
        spec["polls"] = args.polls
        if args.period is not None:
            spec["period"] = args.period
        return spec

    return cli_to_spec


def get_spec_to_cli(spec: dict) -> list[str]:
    out = _common_cli(spec)
    for oid in spec.get("oid", []):
        out += ["--oid", oid]
    for key in ("polls", "period"):
        if key in spec:
            out += [f"--{key}", str(spec[key])]
    return out


def set_cli_to_spec(args: list) -> dict:
    parser = _parser("snmpset", "Set OIDs on an SNMP agent.", SET_EPILOG)
    parser.add_argument("--oidargs", action="append", help="OID:TYPE:VALUE (repeatable)")
    args = parser.parse_spec_args(args)
    spec = _common_spec(args)
    oidargs = []
    for item in args.oidargs or []:
        match = _OIDARG.match(item)
        if match is None:
            raise UsageError(f"--oidargs wants OID:TYPE:VALUE, not {item!r}")
        oidargs.append({"oid": match[1], "type": match[2], "value": match[3]})
    if oidargs:
        spec["oidargs"] = oidargs
    return spec


def set_spec_to_cli(spec: dict) -> list[str]:
    out = _common_cli(spec)
    for item in spec.get("oidargs", []):
        out += ["--oidargs", f"{item['oid']}:{item['type']}:{item['value']}"]
    return out


def _sample_lines(oid: str, sample: dict) -> list[str]:
    if sample.get("type"):
        lines = [f"OID: {oid} ({sample['type']})", f"    {sample['value']}"]
    else:
        lines = [f"OID: {oid}", f"    Error: {sample['value']}"]
    if "seq_num" in sample:
        lines.append(f"    Sequence number: {sample['seq_num']}")
    if "timestamp" in sample:
        lines.append(f"    Timestamp: {sample['timestamp']}")
    if "delta" in sample:
        lines += [f"    Time delta: {sample['timedelta']}", f"    Delta: {sample['delta']}"]
    return lines


def _samples(result: dict, oids: list[str]) -> list[tuple[str, dict]]:
    out = []
    for index, item in enumerate(result.get("data") or []):
        oid = oids[index] if index < len(oids) else "?"
        for sample in item if isinstance(item, list) else [item]:
            out.append((oid, sample))
    return out


def _format(oids: list[str], result: dict, mime: str) -> str:
    check_mime(mime)
    samples = _samples(result, oids)
    if mime == "text/plain":
        blocks = ["\n".join(_sample_lines(oid, sample)) for oid, sample in samples]
        return "\n\n".join(blocks) + f"\n\nElapsed Time: {result.get('time')}\n"
    rows = [f"<tr><th>Time</th></tr><tr><td>{html.escape(str(result.get('time')))}</td></tr>"]
    rows.append("<tr><th>SNMP Data</th></tr>")
    for oid, sample in samples:
        cells = [f"OID: {oid}"]
        if "seq_num" in sample:
            cells.append(f"Sequence number: {sample['seq_num']}")
        if sample.get("type"):
            cells += [f"Type: {sample['type']}", f"Value: {sample['value']}"]
        else:
            cells.append(f"Error: {sample['value']}")
        if "delta" in sample:
            cells += [f"Time delta: {sample['timedelta']}", f"Delta: {sample['delta']}"]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def get_format(spec: dict, result: dict, mime: str) -> str:
    return _format(list(spec.get("oid", [])), result, mime)


def set_format(spec: dict, result: dict, mime: str) -> str:
    return _format([item["oid"] for item in spec.get("oidargs", [])], result, mime)


def _test(name, description, scheduling_class, schema, is_valid, cli, to_cli, fmt) -> Test:
    return Test(
        enumeration=enumeration(name, description, scheduling_class=scheduling_class),
        spec_schema=schema,
        spec_is_valid=is_valid,
        result_schema=RESULT_SCHEMA,
        participants=lambda spec: participants_from(spec, "host-node", "host"),
        cli_to_spec=cli,
        spec_to_cli=to_cli,
        result_format=fmt,
    )


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        _test(
            "snmpget",
            "Make one or more SNMP get queries to a destination",
            "background",
            GET_SCHEMA,
            get_is_valid,
            get_cli_to_spec("snmpget"),
            get_spec_to_cli,
            get_format,
        ),
        _test(
            "snmpgetbgm",
            "Poll SNMP OIDs as a background-multi test (a run per poll)",
            "background-multi",
            GET_SCHEMA,
            get_is_valid,
            get_cli_to_spec("snmpgetbgm"),
            get_spec_to_cli,
            get_format,
        ),
        _test(
            "snmpset",
            "Set values of SNMP OIDs on a destination",
            "background",
            SET_SCHEMA,
            set_is_valid,
            set_cli_to_spec,
            set_spec_to_cli,
            set_format,
        ),
    ]
