"""The ``latencybg`` test: one-way latency measured continuously in the background
(background-multi), a result each ``packet-count`` packets, for ``duration`` or until the
task ends.

Spec and result are the latency test's (schema 1: no reverse, traverse-nat or protocol),
plus ``duration``; results are formatted as latency's.
"""

from __future__ import annotations

from pscheduler_plugins.common import DURATION, enumeration, versioned, with_schema
from pscheduler_plugins.tests import latency

from pscheduler.hookspecs import Test, UsageError, hookimpl
from pscheduler.toolkit.speccli import SpecParser

_BASE = {
    "properties": {**latency._BASE["properties"], "duration": DURATION},
    "required": ["dest"],
}
VERSIONS = {1: with_schema(_BASE, 1)}
SPEC_SCHEMA, _schema_is_valid = versioned(VERSIONS)

OPTIONS = [o for o in latency.OPTIONS if o[0] != "protocol"] + [
    ("duration", "-t", str, "How long to measure (ISO 8601)")
]
BOOLS = [b for b in latency.BOOLS if b[0] in ("output-raw", "flip")]

EPILOG = """Examples:
  task latencybg --dest ps2.example.net
      Packets to ps2.example.net, a result every 600 packets, as long as the task runs
  task latencybg -s ps1.example.net -d ps2.example.net -c 100 -i 0.1 -t PT1H
"""


def spec_is_valid(spec: dict) -> dict:
    verdict = _schema_is_valid(spec)
    if verdict["valid"] and spec.get("flip") and "source" not in spec:
        return {
            "valid": False,
            "error": "You must specify both source and dest when using the flip option",
        }
    return verdict


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(
        prog="latencybg", description="Measure one-way latency continuously.", epilog=EPILOG
    )
    for key, short, kind, text in OPTIONS:
        parser.add_argument(*([short] if short else []), f"--{key}", type=kind, help=text)
    for key, short, text in BOOLS:
        dest = key.replace("-", "_")
        flags = ([short] if short else []) + [f"--{key}"]
        parser.add_argument(*flags, dest=dest, action="store_true", default=None, help=text)
        parser.add_argument(f"--no-{key}", dest=dest, action="store_false")
    opts = parser.parse_spec_args(args)
    spec: dict = {"schema": 1}
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
    return spec


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


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "latencybg",
                "Measure one-way latency continuously in the background",
                scheduling_class="background-multi",
            ),
            spec_schema=SPEC_SCHEMA,
            spec_is_valid=spec_is_valid,
            result_schema=latency.RESULT_SCHEMA,
            participants=latency.participants,
            cli_to_spec=cli_to_spec,
            spec_to_cli=spec_to_cli,
            result_format=latency.result_format,
        )
    ]
