"""The ``openports`` test: which ports are open on a host or a network."""

from __future__ import annotations

import html

from pscheduler_plugins.common import (
    BOOLEAN,
    DURATION,
    HOST,
    URL_HOST_PORT,
    check_mime,
    cli_args,
    cli_value,
    enumeration,
    participants_from,
    result_schema,
    versioned,
    with_schema,
)

from pscheduler.hookspecs import Test, hookimpl
from pscheduler.toolkit.speccli import SpecParser

_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
PORT_LIST = {
    "type": "string",
    "pattern": rf"^{_PORT}((,{_PORT})|(-{_PORT}))*$",
    "x-invalid-message": "'%s' is not a list of ports (1-1024,8080)",
}
_BASE = {
    "properties": {
        "network": {
            "anyOf": [
                {"type": "string", "pattern": r"^[0-9a-fA-F.:]+/\d{1,3}$"},
                HOST,
            ]
        },
        "source": HOST,
        "source-node": URL_HOST_PORT,
        "services": BOOLEAN,
        "ports": PORT_LIST,
        "timeout": DURATION,
    },
    "required": ["network"],
}
VERSIONS = {1: with_schema(_BASE, 1)}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

_SERVICE = {
    "type": "object",
    "properties": {
        k: {"type": "string"}
        for k in ("state", "name", "product", "version", "ostype", "extrainfo")
    },
}
RESULT_SCHEMA = result_schema(
    {
        "result": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"anyOf": [{"type": "string"}, _SERVICE]},
            },
        },
    },
    ["result"],
)

_VALUED = ["network", "ports", "source", "source-node", "timeout"]

EPILOG = """Examples:
  task openports --network 192.0.2.7
      The open ports of one host
  task openports --network 192.0.2.0/24 --ports 22,80-81
      Ports 22, 80 and 81 of every host of a network
  task openports --network 192.0.2.7 --services
      Also what nmap finds out about the service behind each port
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="openports", description="Find open ports.", epilog=EPILOG)
    parser.add_argument("--network", help="Host(s) to scan (a host or a CIDR block)")
    parser.add_argument("--ports", help="Ports to scan (e.g. 1-1024,8080,65535)")
    parser.add_argument("--source", help="Source address of the scan")
    parser.add_argument("--source-node", help="pScheduler node on the source, if different")
    parser.add_argument("--timeout", help="Maximum time to wait for responses (ISO 8601)")
    parser.add_argument(
        "--services", action="store_true", default=None, help="Identify the services"
    )
    opts = parser.parse_spec_args(args)
    spec: dict = {"schema": 1}
    cli_value(opts, spec, _VALUED + ["services"])
    return spec


def spec_to_cli(spec: dict) -> list[str]:
    return cli_args(spec, _VALUED) + (["--services"] if spec.get("services") else [])


_SERVICE_FIELDS = ["state", "name", "product", "version", "ostype", "extrainfo"]


def _plain(found: dict) -> list[str]:
    lines: list[str] = []
    if not found:
        lines.append("No networks found!")
    for network, ports in found.items():
        pad = " " * max(0, len(network) - 15)
        if not ports:
            lines += [f"No open ports found on network: {network}", ""]
            continue
        if isinstance(next(iter(ports.values())), dict):
            head = ["PORT", "STATE", "NAME", "PRODUCT", "VERSION", "OS", "EXTRA INFORMATION"]
            lines.append(
                network[:-15] + f"{network[-15:]:15s}|{head[0]:>6s} |{head[1]:<9s}|{head[2]:<15s}|"
                f"{head[3]:<21s}|{head[4]:<10s}|{head[5]:<10s}|{head[6]:<30s}"
            )
            lines.append(pad.replace(" ", "-") + "-" * 15 + "+" + "-" * 7 + "+" + "-" * 9
                         + "+" + "-" * 15 + "+" + "-" * 21 + "+" + "-" * 10 + "+" + "-" * 10
                         + "+" + "-" * 30)  # fmt: skip
            for port, info in ports.items():
                v = [str(info.get(k, " ")) for k in _SERVICE_FIELDS]
                lines.append(
                    pad + f"{'':15.15s}|{str(port):>6.6s} |{v[0]:<9.9s}|{v[1]:<15.15s}|"
                    f"{v[2]:<21.21s}|{v[3]:<10.10s}|{v[4]:<10.10s}|{v[5]:<30s}"
                )
        else:
            lines += [network[:-15] + f"{network[-15:]:15}", f"{'PORT':>5} | {'STATE':<8s}"]
            lines.append("-" * 6 + "+" + "-" * 6)
            lines += [f"{str(port):>5s} | {str(state):<8s}" for port, state in ports.items()]
        lines.append("")
    return lines


def _html(found: dict) -> str:
    e = html.escape
    parts = []
    for network, ports in found.items():
        parts.append(f'<h3>{e(network)}</h3><table border="2">')
        if ports and isinstance(next(iter(ports.values())), dict):
            head = ["Port", "State", "Name", "Product", "Version", "OS", "Extra Information"]
            parts.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>")
            parts.append("<tbody>")
            for port, info in ports.items():
                cells = [str(port)] + [str(info.get(k, " ")) for k in _SERVICE_FIELDS]
                parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
            parts.append("</tbody>")
        else:
            parts.append(
                "<tr><th>Port</th>" + "".join(f"<td>{e(str(p))}</td>" for p in ports) + "</tr>"
            )
            parts.append(
                "<tr><th>State</th>"
                + "".join(f"<td>{e(str(s))}</td>" for s in ports.values())
                + "</tr>"
            )
        parts.append("</table><br></br>")
    return "".join(parts) or "<p>No networks found!</p>"


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    found = result.get("result") or {}
    return "\n".join(_plain(found)) if mime == "text/plain" else _html(found)


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "openports",
                "Identifies open ports on a given host/subnet",
                scheduling_class="background",
            ),
            spec_schema=SPEC_SCHEMA,
            spec_is_valid=spec_is_valid,
            result_schema=RESULT_SCHEMA,
            participants=lambda spec: participants_from(spec, "source-node", "source"),
            cli_to_spec=cli_to_spec,
            spec_to_cli=spec_to_cli,
            result_format=result_format,
        )
    ]
