"""Schema fragments and helpers shared by the built-in plugins (pure data, no core imports
beyond the hookspecs and the toolkit)."""

from __future__ import annotations

import datetime as dt
import html as _html
import math
import shutil
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as _FutureTimeout

from pscheduler.hookspecs import PluginError
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp
from pscheduler.toolkit.jsonval import validate_versioned

MAINTAINER = {"name": "pscheduler developers", "href": "https://github.com/perfsonar/pscheduler"}

DURATION = {
    "type": "string",
    "pattern": r"^P(?!$)(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$",
    "x-invalid-message": "'%s' is not a valid ISO 8601 duration",
}
HOST = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^\s/]+$"}
URL_HOST_PORT = {
    "type": "string",
    "minLength": 1,
    "pattern": r"^(\[[0-9a-fA-F:.]+\]|[^\s/:\[\]]+)(:\d{1,5})?$",
}
PROBABILITY = {"type": "number", "minimum": 0.0, "maximum": 1.0}
CARDINAL = {"type": "integer", "minimum": 1}
SCHEMA_V1 = {"type": "integer", "enum": [1]}


def seconds(iso: str) -> float:
    return parse_duration(iso).total_seconds()


def participants_from(spec: dict, node_key: str, host_key: str) -> dict:
    """``[node ?? host ?? null]``, with the reason the lead is left to the receiving host."""
    lead = spec.get(node_key) or spec.get(host_key)
    if lead:
        return {"participants": [lead]}
    return {"participants": [None], "null-reason": f"No {host_key} specified"}


def utc(when: str) -> dt.datetime:
    return parse_timestamp(when)


# --- Shared by the measurement plugins (rtt, trace, throughput, latency, clock, dns, http) ---


CARDINAL_ZERO = {"type": "integer", "minimum": 0}
IP_PORT = {"type": "integer", "minimum": 0, "maximum": 65535}
IP_TOS = {"type": "integer", "minimum": 0, "maximum": 255}
IP_VERSION = {"type": "integer", "enum": [4, 6]}
BOOLEAN = {"type": "boolean"}
STRING = {"type": "string"}

ICMP_ERRORS = [
    "net-unreachable",
    "host-unreachable",
    "protocol-unreachable",
    "port-unreachable",
    "fragmentation-needed-and-df-set",
    "source-route-failed",
    "destination-network-unknown",
    "destination-host-unknown",
    "source-host-isolated",
    "destination-network-administratively-prohibited",
    "destination-host-administratively-prohibited",
    "network-unreachable-for-type-of-service",
    "host-unreachable-for-type-of-service",
    "communication-administratively-prohibited",
    "host-precedence-violation",
    "precedence-cutoff-in-effect",
]
ICMP_ERROR = {"type": "string", "enum": ICMP_ERRORS}


def versioned(versions: dict[int, dict]) -> tuple[dict, Callable[[dict], dict]]:
    """One JSON Schema covering every spec version (for display) and a ``spec_is_valid``
    that validates against the version the spec names, which gives readable errors."""
    highest = max(versions)
    chain: dict = dict(versions[1])
    for number in sorted(versions)[1:]:
        chain = {
            "if": {"properties": {"schema": {"const": number}}, "required": ["schema"]},
            "then": versions[number],
            "else": chain,
        }
    schema = {
        "type": "object",
        "properties": {"schema": {"type": "integer", "minimum": 1, "maximum": highest}},
        **chain,
    }

    def spec_is_valid(spec: dict) -> dict:
        error = validate_versioned(versions, spec)
        return {"valid": True} if error is None else {"valid": False, "error": error}

    return schema, spec_is_valid


def with_schema(base: dict, number: int, extra: dict | None = None, closed: bool = True) -> dict:
    """Version ``number`` of a spec schema: ``base`` properties plus ``extra``; v2+ require
    ``schema`` as the original does."""
    properties = {**base["properties"], **(extra or {})}
    properties["schema"] = (
        {"type": "integer", "enum": [number]} if number > 1 else {"type": "integer", "enum": [1]}
    )
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(base.get("required", [])) + (["schema"] if number > 1 else []),
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def result_schema(properties: dict, on_success: list[str]) -> dict:
    """A test's result schema: the members every result may carry (schema, succeeded, error,
    diags) and the test's own ``properties``, of which ``on_success`` are required when the
    run succeeded."""
    return {
        "type": "object",
        "properties": {
            "schema": {"type": "integer", "enum": [1]},
            "succeeded": BOOLEAN,
            "error": {"type": ["string", "null"]},
            "diags": {"type": ["string", "null"]},
            **properties,
        },
        "required": ["succeeded"],
        "if": {"properties": {"succeeded": {"const": True}}},
        "then": {"required": on_success},
    }


def seconds_iso(value: float | None) -> str | None:
    """Seconds as an ISO 8601 duration without exponent notation (``PT0.000247S``)."""
    if value is None:
        return None
    text = f"{abs(value):.6f}".rstrip("0").rstrip(".") or "0"
    return f"{'-' if value < 0 else ''}PT{text}S"


def program_missing(prog: str) -> list[str]:
    """``["<prog> is not installed"]`` when ``prog`` is not on the PATH, else ``[]``."""
    return [] if shutil.which(prog) else [f"{prog} is not installed"]


def unsupported_keys(tool: str, spec: dict, allowed: set[str]) -> list[str]:
    return [f"{tool} does not support {key}" for key in sorted(spec) if key not in allowed]


def verdict(reasons: list[str]) -> dict:
    return {"can-run": not reasons, **({"reasons": reasons} if reasons else {})}


def reverse_lookup(addresses: list[str], timeout: float = 2.0) -> dict[str, str]:
    """Reverse-resolve addresses in parallel, giving up after ``timeout`` seconds overall;
    an address that does not resolve maps to itself."""
    unique = sorted({a for a in addresses if a})
    names = {a: a for a in unique}
    if not unique:
        return names
    pool = ThreadPoolExecutor(max_workers=min(8, len(unique)))
    futures = {a: pool.submit(socket.gethostbyaddr, a) for a in unique}
    deadline = timeout
    for address, future in futures.items():
        try:
            names[address] = future.result(timeout=max(0.01, deadline))[0]
        except (_FutureTimeout, OSError, UnicodeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)
    return names


def stats(values: list[float]) -> dict:
    """min/max/mean/population stddev (what ping calls mdev), or {} for no values."""
    if not values:
        return {}
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return {"min": min(values), "max": max(values), "mean": mean, "stddev": math.sqrt(var)}


def failed(error: str, diags: str | None = None) -> dict:
    """A participant result for a measurement that could not be made."""
    return {"succeeded": False, "error": error, "diags": diags, "result": None}


def merge_first(test: dict, results: list, fields: list[str] | None = None) -> dict:
    """The usual single-participant merge: the lead's ``result`` (optionally only ``fields``)
    as ``{schema: 1, succeeded, ...}``; a missing or failed result becomes an error object,
    never ``null`` (the original's quirk)."""
    first = results[0] if results else None
    if not isinstance(first, dict):
        return {"schema": 1, "succeeded": False, "error": "No result from the lead participant"}
    body = first.get("result")
    if not first.get("succeeded") or not isinstance(body, dict):
        merged = {
            "schema": 1,
            "succeeded": False,
            "error": first.get("error") or "The measurement did not succeed",
        }
        if first.get("diags"):
            merged["diags"] = first["diags"]
        if isinstance(body, dict):
            merged.update({k: v for k, v in body.items() if k not in merged})
        return merged
    chosen = body if fields is None else {k: body[k] for k in fields if k in body}
    return {"schema": 1, **chosen, "succeeded": bool(body.get("succeeded", True))}


def check_mime(mime: str) -> None:
    if mime not in ("text/plain", "text/html"):
        raise PluginError(f'Unsupported MIME type "{mime}"')


def dotted(label: str, value, width: int = 16) -> str:
    """``Label ........ value`` lines as the original's templates print them."""
    return f"{label} {'.' * max(3, width - len(label))} {value}"


def html_table(rows: list[tuple[str, object]], extra_html: str = "") -> str:
    """A two-column table of escaped label/value rows; ``extra_html`` rows are appended as is."""
    cells = "".join(
        f"<tr><th>{_html.escape(str(k))}</th><td>{_html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{cells}{extra_html}</table>"


def enumeration(name: str, description: str, **extra) -> dict:
    """A plugin's enumeration; keyword names use _ for the wire's - (scheduling_class)."""
    return {
        "schema": 1,
        "name": name,
        "description": description,
        "version": "1.0",
        "maintainer": MAINTAINER,
        **{key.replace("_", "-"): value for key, value in extra.items()},
    }


def cli_value(args, spec: dict, names: list[str]) -> None:
    """Copy argparse values (``dest`` = key with ``_``) into ``spec`` under hyphenated keys."""
    for name in names:
        value = getattr(args, name.replace("-", "_"))
        if value is not None:
            spec[name] = value


def cli_args(spec: dict, names: list[str], bools: list[str] = ()) -> list[str]:
    """The reverse of ``cli_value``: ``--key value`` and ``--key``/``--no-key``."""
    out: list[str] = []
    for name in names:
        if name in spec and spec[name] is not None:
            out += [f"--{name}", str(spec[name])]
    for name in bools:
        if name in spec:
            out.append(f"--{name}" if spec[name] else f"--no-{name}")
    return out


def add_bool(parser, name: str, help: str) -> None:
    """``--name`` / ``--no-name`` storing True/False (None when absent)."""
    dest = name.replace("-", "_")
    parser.add_argument(f"--{name}", dest=dest, action="store_true", default=None, help=help)
    parser.add_argument(
        f"--no-{name}", dest=dest, action="store_false", help=f"Opposite of --{name}"
    )
