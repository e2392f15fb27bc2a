"""The SNMP tools: ``net-snmp`` (snmpget with Debian's ``snmpget`` program),
``net-snmp-set`` (snmpset with ``snmpset``) and ``pysnmp`` (snmpget and snmpgetbgm with
the pysnmp library, in process).

The net-snmp programs get their secrets (community, v3 keys) from an ``snmp.conf`` the run
writes into its own temporary directory (``SNMPCONFPATH``), never on the command line
where every local user could read them.  Types are reported under the names the
original's result schema uses (pysnmp's class names: OctetString, Integer, TimeTicks...),
whichever tool ran.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import tempfile
import time
from collections.abc import Callable

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    program_missing,
    seconds,
    seconds_iso,
    verdict,
)

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import format_timestamp, parse_timestamp, utcnow

DEFAULT_TIMEOUT = "PT5S"
SNMP_PORT = 161

# net-snmp's type labels -> the original's (pysnmp class) names.
_NET_SNMP_TYPES = {
    "STRING": "OctetString",
    "Hex-STRING": "OctetString",
    "INTEGER": "Integer",
    "Timeticks": "TimeTicks",
    "Counter32": "Counter32",
    "Counter64": "Counter64",
    "Gauge32": "Gauge32",
    "Unsigned32": "Unsigned32",
    "IpAddress": "IpAddress",
    "OID": "ObjectIdentity",
    "Opaque": "Opaque",
    "BITS": "Bits",
    "Network Address": "IpAddress",
}
_LINE = re.compile(r"^(\.?[\w.:-]+) = (.*)$")
_TYPED = re.compile(r"^([A-Za-z][\w -]*?): ?(.*)$", re.DOTALL)


def parse_dest(dest: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port)."""
    if dest.startswith("["):
        host, _, rest = dest[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else SNMP_PORT
    if dest.count(":") == 1:
        host, port = dest.split(":")
        if port.isdigit():
            return host, int(port)
    return dest, SNMP_PORT


def agent(spec: dict) -> str:
    """The agent argument net-snmp programs take: ``[proto:]host[:port]``."""
    host, port = parse_dest(spec["dest"])
    proto = spec.get("protocol", "udp")
    if ":" in host:
        return f"{proto}6:[{host}]:{port}"
    return f"{proto}:{host}:{port}"


def snmp_conf(spec: dict) -> str:
    """The secret part of the request, as net-snmp client configuration."""
    lines = []
    if spec["version"] == "3":
        names = {
            "security-name": "defSecurityName",
            "security-level": "defSecurityLevel",
            "auth-protocol": "defAuthType",
            "_auth-key": "defAuthPassphrase",
            "priv-protocol": "defPrivType",
            "_priv-key": "defPrivPassphrase",
            "context": "defContext",
        }
        for key, directive in names.items():
            if key in spec:
                value = spec[key]
                if key.endswith("protocol"):
                    value = value.upper()
                if key == "security-level":
                    value = {s.lower(): s for s in ("noAuthNoPriv", "authNoPriv", "authPriv")}[
                        value.lower()
                    ]
                lines.append(f"{directive} {value}")
    else:
        lines.append(f"defCommunity {spec['_community']}")
    return "\n".join(lines) + "\n"


def _has_newline(spec: dict) -> bool:
    return any(isinstance(v, str) and ("\n" in v or "\r" in v) for v in spec.values())


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        return text


def parse_output(output: str) -> list[dict]:
    """``snmpget -On -Oe`` lines -> ``[{type, value}]`` in request order; a value that runs
    over several lines (a string with newlines) is joined back."""
    entries: list[dict] = []
    raw: list[str] = []
    for line in output.splitlines():
        match = _LINE.match(line)
        if match:
            raw.append(match[2])
        elif raw:
            raw[-1] += "\n" + line
    for text in raw:
        typed = _TYPED.match(text)
        if typed is None or typed[1] not in _NET_SNMP_TYPES:
            entries.append({"value": text.strip()})  # No Such Object/Instance, End of MIB
            continue
        kind, value = typed[1], typed[2].strip()
        if kind == "STRING" and len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if kind == "Timeticks":
            ticks = re.search(r"\((\d+)\)", value) or re.match(r"(\d+)", value)
            value = int(ticks[1]) if ticks else value
        elif kind != "STRING":
            value = _number(value)
        entries.append({"type": _NET_SNMP_TYPES[kind], "value": value})
    return entries


# --- Polling shared by net-snmp and pysnmp ---------------------------------------------


def poll(
    spec: dict,
    control,
    start: dt.datetime,
    get_once: Callable[[], list[dict]],
    emit: Callable[[dict], None] | None = None,
) -> tuple[list, str | None]:
    """Get the OIDs ``polls`` times, ``period`` seconds apart.  Returns (data, error).

    One poll: one entry per OID.  More: one list of samples per OID, numbers with
    ``delta``/``timedelta`` from the previous sample.  ``emit`` (background-multi) gets
    each poll as a result of its own.
    """
    polls, period = spec.get("polls", 1), spec.get("period", 1)
    series: list[list[dict]] = []
    previous_at = None
    for number in range(polls):
        if number and not control.sleep_until(start + dt.timedelta(seconds=number * period)):
            return [], "Run was cancelled."
        polled_at = time.monotonic()
        try:
            entries = get_once()
        except SnmpError as exc:
            return [], str(exc)
        stamp = format_timestamp(utcnow(), fraction=True)
        for index, entry in enumerate(entries):
            entry["timestamp"] = stamp
            if polls > 1:
                entry["seq_num"] = number
            if index >= len(series):
                series.append([])
            if series[index] and previous_at is not None:
                before = series[index][-1].get("value")
                if _is_number(before) and _is_number(entry["value"]):
                    entry["delta"] = entry["value"] - before
                    entry["timedelta"] = round(polled_at - previous_at, 6)
            series[index].append(entry)
        previous_at = polled_at
        if emit is not None:
            emit(
                {
                    "schema": 1,
                    "succeeded": True,
                    "time": seconds_iso(time.monotonic() - polled_at),
                    "data": [dict(e) for e in entries],
                }
            )
    data = [s[0] for s in series] if polls == 1 else series
    return data, None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class SnmpError(Exception):
    """The agent could not be asked or did not answer; the message says why."""


def _measure(input: dict, control, get_once, emit=None) -> dict:
    spec = input["test"]["spec"]
    if _has_newline(spec):
        return failed("SNMP parameters may not contain line breaks")
    start = parse_timestamp(input["schedule"]["start"])
    if not control.sleep_until(start):
        return failed("Run was cancelled.")
    began = time.monotonic()
    try:
        data, error = poll(spec, control, start, get_once, emit)
    finally:
        getattr(get_once, "close", lambda: None)()
    if error:
        return failed(error, getattr(get_once, "diags", None))
    result = {"succeeded": True, "time": seconds_iso(time.monotonic() - began), "data": data}
    return {"succeeded": True, "result": result, "diags": getattr(get_once, "diags", None)}


def _timeout(spec: dict) -> float:
    return seconds(spec.get("timeout", DEFAULT_TIMEOUT))


def duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    polls = spec.get("polls", 1)
    total = (polls - 1) * spec.get("period", 1) + polls * (_timeout(spec) + 1) + 3
    return dt.timedelta(seconds=int(total) + 1)


# --- net-snmp ---------------------------------------------------------------------------


def net_snmp_argv(program: str, spec: dict) -> list[str]:
    timeout = max(1, round(_timeout(spec)))
    argv = [program, "-v", spec["version"], "-On", "-Oe", "-t", str(timeout), "-r", "0"]
    return argv + [agent(spec)]


def _net_snmp_getter(program: str, spec: dict, control, tail: list[str]):
    argv = net_snmp_argv(program, spec) + tail
    confdir = control.tmpdir or tempfile.mkdtemp(prefix="pscheduler-snmp-")
    conf = os.path.join(confdir, "snmp.conf")
    with open(os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(snmp_conf(spec))
    env = {"SNMPCONFPATH": f"{confdir}:/etc/snmp", "MIBS": ""}

    def get_once() -> list[dict]:
        done = control.run_program(argv, env=env)
        get_once.diags = " ".join(argv) + "\n\n" + done.stdout + done.stderr
        if done.status != 0:
            message = done.stderr.strip().splitlines()
            raise SnmpError(
                f"{program} returned an error: " + (" ".join(message) or f"status {done.status}")
            )
        return parse_output(done.stdout)

    get_once.diags = " ".join(argv)
    return get_once


def run_net_snmp(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    return _measure(input, control, _net_snmp_getter("snmpget", spec, control, spec["oid"]))


def run_net_snmp_set(input: dict, control) -> dict:
    spec = {**input["test"]["spec"], "polls": 1}
    tail = [str(part) for item in spec["oidargs"] for part in (item["oid"], item["type"], item["value"])]  # fmt: skip
    return _measure(
        {**input, "test": {**input["test"], "spec": spec}},
        control,
        _net_snmp_getter("snmpset", spec, control, tail),
    )


def can_run_net_snmp(program: str):
    def can_run(test: dict) -> dict:
        return verdict(program_missing(program))

    return can_run


# --- pysnmp -----------------------------------------------------------------------------


def _pysnmp_missing() -> list[str]:
    try:
        import pysnmp.hlapi.v3arch.asyncio  # noqa: F401
    except ImportError as exc:
        return [f"The pysnmp library is not installed ({exc})"]
    return []


def can_run_pysnmp(test: dict) -> dict:
    reasons = _pysnmp_missing()
    if test.get("spec", {}).get("protocol", "udp") != "udp":
        reasons.append("pysnmp supports only the udp protocol")
    return verdict(reasons)


def _credentials(spec: dict):
    from pysnmp.hlapi.v3arch import asyncio as hl

    if spec["version"] != "3":
        return hl.CommunityData(spec["_community"], mpModel=0 if spec["version"] == "1" else 1)
    auth = {"MD5": hl.usmHMACMD5AuthProtocol, "SHA": hl.usmHMACSHAAuthProtocol}
    priv = {
        "DES": hl.usmDESPrivProtocol,
        "3DES": hl.usm3DESEDEPrivProtocol,
        "AES": hl.usmAesCfb128Protocol,
        "AES128": hl.usmAesCfb128Protocol,
        "AES192": hl.usmAesCfb192Protocol,
        "AES256": hl.usmAesCfb256Protocol,
    }
    level = spec.get("security-level", "noAuthNoPriv").lower()
    kwargs: dict = {}
    if level in ("authnopriv", "authpriv"):
        kwargs["authKey"] = spec.get("_auth-key")
        kwargs["authProtocol"] = auth[spec.get("auth-protocol", "MD5").upper()]
    if level == "authpriv":
        kwargs["privKey"] = spec.get("_priv-key")
        kwargs["privProtocol"] = priv[spec.get("priv-protocol", "DES").upper()]
    return hl.UsmUserData(spec.get("security-name", ""), **kwargs)


def _pysnmp_value(value) -> dict:
    kind = type(value).__name__
    if kind in ("NoSuchInstance", "NoSuchObject", "EndOfMibView"):
        return {"value": kind}
    try:
        return {"type": kind, "value": int(value)}
    except (TypeError, ValueError):
        return {"type": kind, "value": value.prettyPrint()}


def _pysnmp_getter(spec: dict):
    from pysnmp.hlapi.v3arch import asyncio as hl

    host, port = parse_dest(spec["dest"])
    timeout = _timeout(spec)

    async def get() -> list[dict]:
        target_class = hl.Udp6TransportTarget if ":" in host else hl.UdpTransportTarget
        target = await target_class.create((host, port), timeout=timeout, retries=0)
        objects = [hl.ObjectType(hl.ObjectIdentity(oid)) for oid in spec["oid"]]
        context = hl.ContextData(contextName=spec.get("context", ""))
        if "engine" not in state:
            state["engine"] = hl.SnmpEngine()
        indication, status, index, binds = await hl.get_cmd(
            state["engine"], _credentials(spec), target, context, *objects
        )
        if indication:
            raise SnmpError(f"snmpget returned an error: {indication}")
        if status:
            raise SnmpError(f"snmpget returned an error: {status.prettyPrint()} at {index}")
        return [_pysnmp_value(value) for _, value in binds]

    # One loop and one engine for every poll: building an engine loads pysnmp's MIBs,
    # which takes longer than a short period.
    state: dict = {}

    def get_once() -> list[dict]:
        if "loop" not in state:
            state["loop"] = asyncio.new_event_loop()
        try:
            return state["loop"].run_until_complete(get())
        except SnmpError:
            raise
        except Exception as exc:  # pysnmp raises its own error classes for bad input
            raise SnmpError(f"snmpget returned an error: {exc}") from exc

    def close() -> None:
        if "engine" in state:
            state["engine"].close_dispatcher()
        if "loop" in state:
            state["loop"].run_until_complete(asyncio.sleep(0))
            state["loop"].close()

    get_once.close = close
    get_once.diags = f"pysnmp get {host}:{port} " + " ".join(spec["oid"])
    return get_once


def run_pysnmp(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    emit = control.emit if input["test"]["type"] == "snmpgetbgm" else None
    return _measure(input, control, _pysnmp_getter(spec), emit)


def _tool(name, description, tests, run, can_run, preference) -> Tool:
    return Tool(
        enumeration=enumeration(name, description, tests=tests, preference=preference),
        duration=duration,
        run=run,
        can_run=can_run,
        participant_data=lambda test, participant: {},
        merged_results=merge_first,
    )


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        _tool(
            "net-snmp",
            "Make SNMP get queries with net-snmp's snmpget",
            ["snmpget"],
            run_net_snmp,
            can_run_net_snmp("snmpget"),
            0,
        ),
        _tool(
            "net-snmp-set",
            "Set SNMP values with net-snmp's snmpset",
            ["snmpset"],
            run_net_snmp_set,
            can_run_net_snmp("snmpset"),
            0,
        ),
        _tool(
            "pysnmp",
            "Make SNMP get queries with the pysnmp library",
            ["snmpget", "snmpgetbgm"],
            run_pysnmp,
            can_run_pysnmp,
            10,
        ),
    ]
