"""The ``latency`` test: one-way latency, OWAMP-style (spec §6.4).

Fixed quirk: result-format supports text/html as well as text/plain.
"""

from __future__ import annotations

import html
import math

from pscheduler_plugins.common import (
    BOOLEAN,
    CARDINAL,
    CARDINAL_ZERO,
    HOST,
    IP_PORT,
    IP_TOS,
    IP_VERSION,
    STRING,
    URL_HOST_PORT,
    check_mime,
    enumeration,
    html_table,
    versioned,
    with_schema,
)

from pscheduler.hookspecs import Test, UsageError, hookimpl
from pscheduler.toolkit.speccli import SpecParser

_BASE = {
    "properties": {
        "dest": HOST,
        "dest-node": URL_HOST_PORT,
        "source": HOST,
        "source-node": URL_HOST_PORT,
        "packet-count": CARDINAL,
        "packet-interval": {"type": "number", "exclusiveMinimum": 0},
        "packet-timeout": CARDINAL_ZERO,
        "packet-padding": CARDINAL_ZERO,
        "ctrl-port": IP_PORT,
        "data-ports": {
            "type": "object",
            "properties": {"lower": IP_PORT, "upper": IP_PORT},
            "required": ["lower", "upper"],
            "additionalProperties": False,
        },
        "ip-tos": IP_TOS,
        "ip-version": IP_VERSION,
        "bucket-width": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "output-raw": BOOLEAN,
        "flip": BOOLEAN,
    },
    "required": ["dest"],
}
_ADDED = {"reverse": (2, BOOLEAN), "traverse-nat": (3, BOOLEAN), "protocol": (4, STRING)}
VERSIONS = {
    n: with_schema(_BASE, n, {k: t for k, (v, t) in _ADDED.items() if v <= n}) for n in range(1, 5)
}
SPEC_SCHEMA, _schema_is_valid = versioned(VERSIONS)


def spec_is_valid(spec: dict) -> dict:
    """The schema, then the original's rule that ``flip`` needs a ``source``."""
    verdict = _schema_is_valid(spec)
    if verdict["valid"] and spec.get("flip") and "source" not in spec:
        return {
            "valid": False,
            "error": "You must specify both source and dest when using the flip option",
        }
    return verdict


_RAW = {
    "type": "object",
    "properties": {
        k: {"type": ["integer", "number", "boolean", "null"]}
        for k in (
            "seq-num",
            "src-ts",
            "src-clock-sync",
            "src-clock-err",
            "dst-ts",
            "dst-clock-sync",
            "dst-clock-err",
            "ip-ttl",
        )
    },
}
_HISTOGRAM = {"type": "object", "additionalProperties": CARDINAL_ZERO}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [1]},
        "succeeded": BOOLEAN,
        "error": {"type": ["string", "null"]},
        "diags": {"type": ["string", "null"]},
        **{
            k: CARDINAL_ZERO
            for k in (
                "packets-sent",
                "packets-received",
                "packets-lost",
                "packets-duplicated",
                "packets-reordered",
            )
        },
        "max-clock-error": {"type": ["number", "null"]},
        "histogram-latency": _HISTOGRAM,
        "histogram-ttl": _HISTOGRAM,
        "raw-packets": {"type": "array", "items": _RAW},
    },
    "required": ["succeeded"],
    "if": {"properties": {"succeeded": {"const": True}}},
    "then": {
        "required": [
            "succeeded",
            "packets-sent",
            "packets-received",
            "packets-lost",
            "histogram-latency",
        ]
    },
}


def participants(spec: dict) -> dict:
    if spec.get("flip"):
        return {"participants": [spec.get("dest-node") or spec.get("dest")]}
    lead = spec.get("source-node") or spec.get("source")
    return (
        {"participants": [lead]}
        if lead
        else {"participants": [None], "null-reason": "No source specified"}
    )


# key, short, type, help
OPTIONS = [
    ("source", "-s", str, "Sending host"),
    ("source-node", None, str, "pScheduler node on the sender"),
    ("dest", "-d", str, "Receiving host"),
    ("dest-node", None, str, "pScheduler node on the receiver"),
    ("packet-count", "-c", int, "Packets to send"),
    ("packet-interval", "-i", float, "Seconds between packets"),
    ("packet-timeout", "-L", int, "Seconds to wait for a packet before it is lost"),
    ("packet-padding", "-p", int, "Bytes of padding per packet"),
    ("ctrl-port", "-C", int, "Server control port"),
    ("data-ports", "-P", str, "Data port range, lower-upper"),
    ("ip-tos", "-T", int, "IP TOS octet"),
    ("ip-version", None, int, "IP version (4 or 6)"),
    ("bucket-width", "-b", float, "Histogram bin width (seconds)"),
    ("protocol", None, str, "Protocol (owamp, twamp, icmp)"),
]
BOOLS = [
    ("output-raw", "-R", "Include every packet in the result"),
    ("flip", "-f", "Have the dest start the client (needs a source)"),
    ("reverse", None, "Report the dest-to-source direction (spec schema 2)"),
    ("traverse-nat", None, "Traverse NAT (spec schema 3)"),
]

EPILOG = """Examples:
  task latency --dest ps2.example.net
      100 packets, 0.1 s apart, to ps2.example.net
  task latency -s ps1.example.net -d ps2.example.net -c 600 -i 0.05 -r
      600 packets with raw per-packet output
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="latency", description="Measure one-way latency.", epilog=EPILOG)
    for key, short, kind, text in OPTIONS:
        parser.add_argument(*([short] if short else []), f"--{key}", type=kind, help=text)
    for key, short, text in BOOLS:
        dest = key.replace("-", "_")
        parser.add_argument(
            *([short] if short else []),
            f"--{key}",
            dest=dest,
            action="store_true",
            default=None,
            help=text,
        )
        parser.add_argument(
            f"--no-{key}", dest=dest, action="store_false", help=f"Opposite of --{key}"
        )
    opts = parser.parse_spec_args(args)
    spec: dict = {}
    for key in [o[0] for o in OPTIONS] + [b[0] for b in BOOLS]:
        value = getattr(opts, key.replace("-", "_"))
        if value is not None:
            spec[key] = value
    if "data-ports" in spec:
        lower, sep, upper = spec["data-ports"].partition("-")
        if not (sep and lower.isdigit() and upper.isdigit()):
            raise UsageError(
                f'Invalid value "{spec["data-ports"]}" for data-ports: use lower-upper'
            )
        spec["data-ports"] = {"lower": int(lower), "upper": int(upper)}
    return {"schema": max([1] + [_ADDED[k][0] for k in spec if k in _ADDED]), **spec}


def spec_to_cli(spec: dict) -> list[str]:
    args: list[str] = []
    for key, _, _, _ in OPTIONS:
        if key == "data-ports" and key in spec:
            args += ["--data-ports", f"{spec[key]['lower']}-{spec[key]['upper']}"]
        elif key in spec:
            args += [f"--{key}", str(spec[key])]
    for key, _, _ in BOOLS:
        if key in spec:
            args.append(f"--{key}" if spec[key] else f"--no-{key}")
    return args


def _percentile(values: list[float], pct: float) -> float:
    rank = max(0, math.ceil(pct / 100 * len(values)) - 1)
    return values[rank]


def _sections(result: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    packets = [
        (label, str(result.get(key, "-")))
        for label, key in (
            ("Packets Sent", "packets-sent"),
            ("Packets Received", "packets-received"),
            ("Packets Lost", "packets-lost"),
            ("Packets Duplicated", "packets-duplicated"),
            ("Packets Reordered", "packets-reordered"),
        )
    ]
    histogram = {float(k): v for k, v in (result.get("histogram-latency") or {}).items()}
    values = sorted(x for bucket, n in histogram.items() for x in [bucket] * n)
    latency: list[tuple[str, str]] = []
    if values:
        mean = sum(values) / len(values)
        variance = sum((v - mean) ** 2 for v in values) / len(values)
        p = {q: _percentile(values, q) for q in (25, 50, 75, 95)}
        mode = max(histogram.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        latency = [
            ("Median", p[50]),
            ("Minimum", values[0]),
            ("Maximum", values[-1]),
            ("Mean", mean),
            ("Mode", mode),
            ("25th Percentile", p[25]),
            ("75th Percentile", p[75]),
            ("95th Percentile", p[95]),
            ("Jitter (P95-P50)", p[95] - p[50]),
            ("Jitter (P75-P25)", p[75] - p[25]),
            ("Variance", variance),
            ("Std Deviation", math.sqrt(variance)),
        ]
        latency = [(label, f"{value:.2f} ms") for label, value in latency]
        if result.get("max-clock-error") is not None:
            latency.append(("Max Clock Error", f"{result['max-clock-error']:.2f} ms"))
        latency += [(f"  {bucket:.2f} ms", str(n)) for bucket, n in sorted(histogram.items())]
    ttls = [(f"TTL {k}", str(v)) for k, v in sorted((result.get("histogram-ttl") or {}).items())]
    return [
        ("Packet Statistics", packets),
        ("One-way Latency Statistics", latency),
        ("TTL Statistics", ttls),
    ]


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    sections = _sections(result)
    if mime == "text/plain":
        out: list[str] = []
        for title, rows in sections:
            out += (
                [title, "-" * len(title)] + [f"{label:<22}{value}" for label, value in rows] + [""]
            )
        return "\n".join(out).strip()
    parts = []
    for title, rows in sections:
        parts.append(f"<h3>{html.escape(title)}</h3>{html_table(rows)}")
    return "".join(parts)


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "latency", "Measure one-way latency and packet loss", scheduling_class="normal"
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
