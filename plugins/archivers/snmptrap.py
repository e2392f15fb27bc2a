"""``snmptrap``: send an SNMP trap for each result, with net-snmp's ``snmptrap`` program.

v2c with ``_community``, or v3 with ``security-name`` (and the auth/priv protocol and keys
the security level needs).  ``trap-varbinds`` are sent as given: integers as INTEGER,
everything else as a STRING (JSON text for what is not a string); ``instance-index`` is
appended to each varbind's OID.  ``dest`` is a host, ``host:port`` or ``[v6]:port``; the
port defaults to 162 as the original's.
"""

from __future__ import annotations

import json
import re
import shutil

from pscheduler_plugins.archivers._shared import schema_const
from pscheduler_plugins.common import enumeration

from pscheduler.hookspecs import Archiver, hookimpl
from pscheduler.toolkit.jsonval import schema_error
from pscheduler.toolkit.program import run_program

TIMEOUT = 10.0
OID = {"type": "string", "pattern": r"^(\.?\d+(\.\d+)*|[A-Za-z][\w-]*::[\w.-]+)$"}
_VARBINDS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"oid": OID, "value": {}},
        "required": ["oid", "value"],
        "additionalProperties": False,
    },
}
_COMMON = {
    "schema": schema_const(1),
    "dest": {"type": "string", "minLength": 1},
    "trap-oid": OID,
    "trap-varbinds": _VARBINDS,
    "instance-index": {"type": "integer"},
}
V2C = {
    "type": "object",
    "properties": {**_COMMON, "_community": {"type": "string"}},
    "required": ["dest", "_community", "trap-oid"],
    "additionalProperties": False,
}
V3 = {
    "type": "object",
    "properties": {
        **_COMMON,
        "security-name": {"type": "string"},
        "auth-protocol": {"type": "string", "enum": ["MD5", "SHA"]},
        "priv-protocol": {
            "type": "string",
            "enum": ["AES", "AES128", "AES192", "AES256", "DES", "3DES"],
        },
        "_auth-key": {"type": "string"},
        "_priv-key": {"type": "string"},
        "security-level": {"type": "string", "enum": ["noAuthNoPriv", "authNoPriv", "authPriv"]},
    },
    "required": ["dest", "security-name", "trap-oid"],
    "additionalProperties": False,
}
DATA_SCHEMA = {"oneOf": [V2C, V3]}
# net-snmp's names for the privacy protocols (it has no 3DES; AES means AES-128).
_PRIV = {"AES": "AES", "AES128": "AES", "AES192": "AES192", "AES256": "AES256", "DES": "DES"}


def data_is_valid(data: dict) -> dict:
    if not isinstance(data, dict):
        return {"valid": False, "error": "Archive data must be an object"}
    which = V2C if "_community" in data else V3
    error = schema_error(which, data)
    if error:
        return {"valid": False, "error": error}
    level = data.get("security-level", "noAuthNoPriv")
    if "_community" not in data and level != "noAuthNoPriv":
        needed = ["auth-protocol", "_auth-key"]
        if level == "authPriv":
            needed += ["priv-protocol", "_priv-key"]
        missing = [k for k in needed if k not in data]
        if missing:
            return {"valid": False, "error": f"Security level {level} needs {', '.join(missing)}"}
        if data.get("priv-protocol") == "3DES":
            return {"valid": False, "error": "3DES privacy is not supported"}
    return {"valid": True}


def _peer(dest: str) -> str:
    """net-snmp's transport address: ``udp:host:162`` / ``udp6:[v6]:162``."""
    match = re.fullmatch(r"\[(?P<v6>[0-9A-Fa-f:.]+)\](?::(?P<port>\d+))?", dest)
    if match:
        return f"udp6:[{match['v6']}]:{match['port'] or 162}"
    if dest.count(":") > 1:
        return f"udp6:[{dest}]:162"
    host, _, port = dest.partition(":")
    return f"udp:{host}:{port or 162}"


def _value(value) -> list[str]:
    if isinstance(value, int) and not isinstance(value, bool):
        return ["i", str(value)]
    return ["s", value if isinstance(value, str) else json.dumps(value)]


def trap_argv(data: dict) -> list[str]:
    if "_community" in data:
        argv = ["snmptrap", "-v", "2c", "-c", data["_community"]]
    else:
        level = data.get("security-level", "noAuthNoPriv")
        argv = ["snmptrap", "-v", "3", "-u", data["security-name"], "-l", level]
        if level != "noAuthNoPriv":
            argv += ["-a", data["auth-protocol"], "-A", data["_auth-key"]]
        if level == "authPriv":
            argv += ["-x", _PRIV[data["priv-protocol"]], "-X", data["_priv-key"]]
    argv += [_peer(data["dest"]), "", data["trap-oid"]]
    suffix = f".{data['instance-index']}" if "instance-index" in data else ""
    for varbind in data.get("trap-varbinds", []):
        argv += [varbind["oid"] + suffix, *_value(varbind["value"])]
    return argv


def archive(record: dict) -> dict:
    data = record.get("data") or {}
    if not shutil.which("snmptrap"):
        return {"succeeded": False, "error": "Failed to archive: snmptrap is not installed"}
    done = run_program(trap_argv(data), timeout=TIMEOUT)
    if done.status != 0:
        reason = done.stderr.strip() or f"snmptrap exited with status {done.status}"
        return {"succeeded": False, "error": f"Failed to archive: {reason}"}
    return {"succeeded": True}


@hookimpl
def pscheduler_archivers() -> list[Archiver]:
    return [
        Archiver(
            enumeration=enumeration("snmptrap", "Send an SNMP trap for each result"),
            data_schema=DATA_SCHEMA,
            data_is_valid=data_is_valid,
            archive=archive,
        )
    ]
