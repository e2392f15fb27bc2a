"""The ``throughput`` test: bulk transfer rate between two hosts (spec §6.2).

Fixed quirks: ``single-ended``/``loopback`` make the test single-participant only when true;
result-format supports text/html as well as text/plain.
"""

from __future__ import annotations

import html
import re

from pscheduler_plugins.common import (
    BOOLEAN,
    CARDINAL,
    DURATION,
    HOST,
    IP_TOS,
    IP_VERSION,
    URL_HOST_PORT,
    add_bool,
    check_mime,
    enumeration,
    versioned,
    with_schema,
)

from pscheduler.hookspecs import PluginError, Test, UsageError, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration
from pscheduler.toolkit.speccli import SpecParser

_CONGESTION_OLD = {
    "type": "string",
    "enum": ["reno", "cubic", "bic", "htcp", "vegas", "westwood", "yeah", "bbr"],
}
INTEGER = {"type": "integer"}
_BASE = {
    "properties": {
        "dest": HOST,
        "dest-node": URL_HOST_PORT,
        "source": HOST,
        "source-node": URL_HOST_PORT,
        "duration": DURATION,
        "interval": DURATION,
        "parallel": CARDINAL,
        "udp": BOOLEAN,
        "bandwidth": CARDINAL,
        "window-size": CARDINAL,
        "mss": CARDINAL,
        "buffer-length": CARDINAL,
        "ip-tos": IP_TOS,
        "ip-version": IP_VERSION,
        "local-address": HOST,
        "omit": DURATION,
        "no-delay": BOOLEAN,
        "congestion": _CONGESTION_OLD,
        "zero-copy": BOOLEAN,
        "flow-label": CARDINAL,
        "client-cpu-affinity": INTEGER,
        "server-cpu-affinity": INTEGER,
        "reverse": BOOLEAN,
    },
    "required": ["dest"],
}
# Field -> first spec version that has it (drives cli-to-spec's high-water mark too).
ADDED = {
    "single-ended": 2,
    "single-ended-port": 2,
    "link-rtt": 3,
    "bandwidth-strict": 4,
    "burst-size": 4,
    "loopback": 5,
    "reverse-connections": 6,
    "fq-rate": 7,
}
_TYPES = {
    "single-ended": BOOLEAN,
    "single-ended-port": INTEGER,
    "link-rtt": DURATION,
    "bandwidth-strict": BOOLEAN,
    "burst-size": CARDINAL,
    "loopback": BOOLEAN,
    "reverse-connections": BOOLEAN,
    "fq-rate": CARDINAL,
}


def _version(number: int) -> dict:
    extra = {k: _TYPES[k] for k, v in ADDED.items() if v <= number}
    if number >= 4:
        extra["congestion"] = {"type": "string", "minLength": 1}
    return with_schema(_BASE, number, extra)


VERSIONS = {n: _version(n) for n in range(1, 8)}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

_NUM = {"type": ["number", "null"]}
_DATA = {
    "type": "object",
    "properties": {
        "throughput-bits": _NUM,
        "throughput-bytes": _NUM,
        "receiver-throughput-bits": _NUM,
        "sent": _NUM,
        "lost": _NUM,
        "jitter": _NUM,
        "stream-id": {"type": ["integer", "string", "null"]},
        "start": _NUM,
        "end": _NUM,
        "rtt": _NUM,
        "tcp-window-size": _NUM,
        "retransmits": _NUM,
        "omitted": {"type": ["boolean", "null"]},
    },
    "additionalProperties": False,
}
_BLOCK = {
    "type": "object",
    "properties": {"streams": {"type": "array", "items": _DATA}, "summary": _DATA},
    "required": ["streams", "summary"],
    "additionalProperties": False,
}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer"},
        "succeeded": BOOLEAN,
        "error": {"type": ["string", "null"]},
        "diags": {"type": ["string", "null"]},
        "intervals": {"type": "array", "items": _BLOCK},
        "summary": _BLOCK,
        "mss": _NUM,
        "mtu": _NUM,
        "tcp-window-size": _NUM,
        "requested-tcp-window-size": _NUM,
    },
    "required": ["succeeded"],
    "if": {"properties": {"succeeded": {"const": True}}},
    "then": {"required": ["succeeded", "diags", "intervals", "summary"]},
    "additionalProperties": False,
}


def participants(spec: dict) -> dict:
    if "dest" not in spec:
        raise PluginError("No dest specified")
    lead = spec.get("source-node") or spec.get("source")
    if spec.get("single-ended") or spec.get("loopback"):
        return (
            {"participants": [lead]}
            if lead
            else {"participants": [None], "null-reason": "No source specified"}
        )
    out = {"participants": [lead, spec.get("dest-node") or spec["dest"]]}
    if lead is None:
        out["null-reason"] = "No source specified"
    return out


_SI = {
    "": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "p": 10**15,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
    "pi": 2**50,
}


def si_number(text: str, what: str) -> int:
    """``384M`` -> 384000000, ``64Ki`` -> 65536; UsageError naming the option when bad."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]i?)?\s*", str(text))
    if not match:
        raise UsageError(
            f'Invalid value "{text}" for {what}: not a number with an optional SI suffix'
        )
    return int(float(match[1]) * _SI[(match[2] or "").lower()])


def _link_rtt(text: str) -> str:
    if re.fullmatch(r"\d+", text):
        return f"PT{int(text) / 1000:g}S"
    try:
        parse_duration(text)
    except ValueError as exc:
        raise UsageError(
            f'Invalid value "{text}" for link-rtt: use ISO 8601 or milliseconds'
        ) from exc
    return text


def _seconds_or_iso(key: str):
    """``10`` -> ``PT10S`` (whole numbers are seconds, as in the original's -t, -i and -O);
    ISO 8601 as given."""

    def convert(text: str) -> str:
        if re.fullmatch(r"\d+", text):
            return f"PT{int(text)}S"
        try:
            parse_duration(text)
        except ValueError as exc:
            raise UsageError(
                f'Invalid value "{text}" for {key}: use ISO 8601 or whole seconds'
            ) from exc
        return text

    return convert


# (key, short options, kind, help); kind: str, int, si, bool, rtt, secs
OPTIONS = [
    ("source", ["-s"], "str", "The sender"),
    ("source-node", [], "str", "pScheduler node on the sender"),
    ("dest", ["-d"], "str", "The receiver"),
    ("dest-node", [], "str", "pScheduler node on the receiver"),
    ("duration", ["-t"], "secs", "Test length (ISO 8601 or seconds)"),
    ("interval", ["-i"], "secs", "Reporting interval (ISO 8601 or seconds)"),
    ("parallel", ["-P"], "int", "Parallel streams"),
    ("udp", ["-u"], "bool", "Use UDP instead of TCP"),
    ("bandwidth", ["-b"], "si", "Rate limit in bits/s (SI suffixes allowed)"),
    ("bandwidth-strict", [], "bool", "Never exceed the bandwidth"),
    ("burst-size", [], "int", "Packets per burst"),
    ("fq-rate", [], "si", "Fair-queueing pacing rate (SI)"),
    ("window-size", ["-w"], "si", "TCP window size in bytes (SI)"),
    ("mss", ["-m"], "int", "TCP MSS"),
    ("buffer-length", ["-l"], "si", "Read/write buffer length"),
    ("ip-tos", ["-S"], "int", "IP TOS octet"),
    ("ip-version", [], "int", "IP version (4 or 6)"),
    ("local-address", ["-B"], "str", "Local bind address"),
    ("omit", ["-O"], "secs", "Initial period left out of the summary (ISO 8601 or seconds)"),
    ("no-delay", [], "bool", "Set TCP_NODELAY"),
    ("congestion", [], "str", "Congestion-control algorithm"),
    ("zero-copy", ["-Z"], "bool", "Use zero-copy sends"),
    ("flow-label", [], "int", "IPv6 flow label (forces IPv6)"),
    ("client-cpu-affinity", [], "int", "CPU to pin the client to"),
    ("server-cpu-affinity", [], "int", "CPU to pin the server to"),
    ("reverse", ["-R"], "bool", "Send from dest to source"),
    ("single-ended", [], "bool", "Test against a plain server with no pScheduler"),
    ("single-ended-port", [], "int", "Port of that server"),
    ("link-rtt", [], "rtt", "Approximate round-trip time (ISO 8601 or integer ms)"),
    ("loopback", [], "bool", "Run client and server on this host"),
    ("reverse-connections", [], "bool", "Connect from dest to source"),
]

EPILOG = """Examples:
  task throughput --dest ps2.example.net
      Ten seconds of TCP from here to ps2.example.net
  task throughput --source ps1.example.net --dest ps2.example.net --udp --bandwidth 50M
      UDP at 50 Mb/s between two other hosts
  task throughput --dest localhost --loopback --parallel 2 --duration PT5S
      Two streams over this host's loopback
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="throughput", description="Measure throughput.", epilog=EPILOG)
    for key, shorts, kind, text in OPTIONS:
        if kind == "bool":
            add_bool(parser, key, text)
        else:
            parser.add_argument(*shorts, f"--{key}", type=int if kind == "int" else str, help=text)
    opts = parser.parse_spec_args(args)
    spec: dict = {}
    for key, _, kind, _ in OPTIONS:
        value = getattr(opts, key.replace("-", "_"))
        if value is None:
            continue
        if kind == "si":
            value = si_number(value, key)
        elif kind == "rtt":
            value = _link_rtt(value)
        elif kind == "secs":
            value = _seconds_or_iso(key)(value)
        spec[key] = value
    if "flow-label" in spec:
        spec["ip-version"] = 6
    schema = max([1] + [ADDED.get(k, 1) for k in spec])
    if (
        isinstance(spec.get("congestion"), str)
        and spec["congestion"] not in _CONGESTION_OLD["enum"]
    ):
        schema = max(schema, 4)
    return {"schema": schema, **spec}


def spec_to_cli(spec: dict) -> list[str]:
    args: list[str] = []
    for key, _, kind, _ in OPTIONS:
        if key not in spec:
            continue
        if kind == "bool":
            args.append(f"--{key}" if spec[key] else f"--no-{key}")
        else:
            args += [f"--{key}", str(spec[key])]
    return args


def _bits(value) -> str:
    if value is None:
        return "-"
    for unit, scale in (("Gbps", 1e9), ("Mbps", 1e6), ("Kbps", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value:.2f} bps"


def _columns(udp: bool) -> list[str]:
    return [
        "Interval",
        "Throughput",
        "Lost / Sent" if udp else "Retransmits",
        "Jitter" if udp else "Current Window",
    ]


def _row(data: dict, udp: bool) -> list[str]:
    span = f"{data.get('start', 0):.1f} - {data.get('end', 0):.1f}"
    if udp:
        third = f"{data.get('lost', '-')} / {data.get('sent', '-')}"
        fourth = f"{data['jitter']:.2f} ms" if data.get("jitter") is not None else "-"
    else:
        third = str(data.get("retransmits", "-"))
        window = data.get("tcp-window-size")
        fourth = f"{window / 1e6:.2f} MBytes" if window else "-"
    return [span, _bits(data.get("throughput-bits")), third, fourth]


def _table(rows: list[list[str]]) -> list[str]:
    return ["".join(f"{cell:<15}" for cell in row).rstrip() for row in rows]


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    udp = bool(spec.get("udp"))
    intervals = result.get("intervals") or []
    summary = result.get("summary") or {"streams": [], "summary": {}}
    stream_ids = [s.get("stream-id") for s in summary.get("streams", [])] or [None]
    sections: list[tuple[str, list[list[str]]]] = []
    for index, stream_id in enumerate(stream_ids):
        rows = [_columns(udp)]
        for interval in intervals:
            streams = interval.get("streams", [])
            if index < len(streams):
                rows.append(_row(streams[index], udp))
        if len(stream_ids) > 1 and index < len(summary.get("streams", [])):
            rows.append(_row(summary["streams"][index], udp))
        sections.append((f"* Stream ID {stream_id}", rows))
    total = summary.get("summary", {})
    summary_rows = [_columns(udp), _row(total, udp)]
    if total.get("receiver-throughput-bits") is not None:
        summary_rows[0].append("Receiver Throughput")
        summary_rows[1].append(_bits(total["receiver-throughput-bits"]))
    sections.append(("Summary", summary_rows))
    tail = []
    if result.get("mss") is not None:
        tail.append(f"MSS: {result['mss']}")
    if result.get("tcp-window-size") is not None:
        tail.append(f"TCP Window Size: {result['tcp-window-size']}")
    if mime == "text/plain":
        out: list[str] = []
        for title, rows in sections:
            out += [title] + _table(rows) + [""]
        return "\n".join(out + tail).strip()
    parts = []
    for title, rows in sections:
        body = "".join(
            "<tr>"
            + "".join(
                f"<{'th' if n == 0 else 'td'}>{html.escape(c)}</{'th' if n == 0 else 'td'}>"
                for c in row
            )
            + "</tr>"
            for n, row in enumerate(rows)
        )
        parts.append(f"<h3>{html.escape(title)}</h3><table>{body}</table>")
    return "".join(parts) + "".join(f"<p>{html.escape(t)}</p>" for t in tail)


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "throughput",
                "Measure network throughput between hosts",
                scheduling_class="exclusive",
            ),
            spec_schema=SPEC_SCHEMA,
            spec_is_valid=spec_is_valid,
            result_schema=RESULT_SCHEMA,
            participants=participants,
            cli_to_spec=cli_to_spec,
            spec_to_cli=spec_to_cli,
            result_format=result_format,
        )
    ]
