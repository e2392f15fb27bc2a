"""The ``netreach`` test: is any host on a network (and its gateway) reachable?"""

from __future__ import annotations

import html
import ipaddress

from pscheduler_plugins.common import (
    BOOLEAN,
    CARDINAL,
    DURATION,
    HOST,
    check_mime,
    cli_args,
    cli_value,
    enumeration,
    participants_from,
    result_schema,
    with_schema,
)

from pscheduler.hookspecs import Test, hookimpl
from pscheduler.toolkit.jsonval import schema_error
from pscheduler.toolkit.speccli import SpecParser

SCANS = ["up", "down", "edges", "random"]
_GATEWAY = {
    "oneOf": [
        {"type": "string", "minLength": 2},
        {"type": "integer", "minimum": 1},
        {"type": "integer", "maximum": -1},
    ]
}
_BASE = {
    "properties": {
        "host": HOST,
        "host-node": HOST,
        "network": {"type": "string", "pattern": r"^[0-9a-fA-F.:]+/\d{1,3}$"},
        "gateway": _GATEWAY,
        "limit": CARDINAL,
        "parallel": CARDINAL,
        "scan": {"type": "string", "enum": SCANS},
        "timeout": DURATION,
    },
    "required": ["network"],
}
SPEC_SCHEMA = with_schema(_BASE, 1)

RESULT_SCHEMA = result_schema(
    {
        "gateway-up": BOOLEAN,
        "network-up": BOOLEAN,
    },
    ["network-up"],
)


def gateway_address(network, gateway):
    """The gateway's address: an address as given, or the Nth host (negative: from the end)."""
    if isinstance(gateway, bool) or not isinstance(gateway, int | str):
        raise ValueError("Unknown gateway type.")
    if isinstance(gateway, int):
        if abs(gateway) > network.num_addresses - 2:
            raise ValueError("Gateway host number is outside the network")
        return network[gateway - 1 if gateway < 0 else gateway]
    return ipaddress.ip_address(gateway)


def spec_is_valid(spec: dict) -> dict:
    error = schema_error(SPEC_SCHEMA, spec)
    if error:
        return {"valid": False, "error": error}
    try:
        network = ipaddress.ip_network(spec["network"])
    except ValueError as exc:
        return {"valid": False, "error": f"Invalid network: {exc}"}
    if network.num_addresses <= 2:
        return {"valid": False, "error": "Network must have at least two host addresses."}
    try:
        gateway = gateway_address(network, spec["gateway"]) if "gateway" in spec else network[1]
    except ValueError as exc:
        return {"valid": False, "error": str(exc)}
    if gateway.version != network.version:
        return {"valid": False, "error": "Network and gateway are not in the same family."}
    if gateway not in network:
        return {"valid": False, "error": "Gateway is outside of the network"}
    if gateway in (network[0], network[-1]):
        return {"valid": False, "error": "Gateway cannot be the network or broadcast address."}
    return {"valid": True}


_VALUED = ["network", "gateway", "host", "host-node", "limit", "parallel", "scan", "timeout"]

EPILOG = """Examples:
  task netreach --network 192.0.2.0/24 --gateway 192.0.2.1
      Test 192.0.2.0/24 reached via 192.0.2.1.
  task netreach --network 192.0.2.0/24 --gateway 1
      Test 192.0.2.0/24 reached via the first host in the block.
  task netreach --network 192.0.2.0/24 --gateway -1
      Test 192.0.2.0/24 reached via the last host in the block.
"""


def _gateway(text: str):
    try:
        return int(text)
    except ValueError:
        return text


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(
        prog="netreach", description="Check a network's reachability.", epilog=EPILOG
    )
    parser.add_argument("--network", help="Network to check")
    parser.add_argument("--gateway", type=_gateway, help="Network's gateway address or host number")
    parser.add_argument("--host", help="Host where the test should be run")
    parser.add_argument("--host-node", help="pScheduler to contact for setup")
    parser.add_argument("--limit", type=int, help="Maximum number of addresses to scan")
    parser.add_argument("--parallel", type=int, help="Number of addresses to probe at once")
    parser.add_argument("--scan", help="Scan type (up, down, edges, random)")
    parser.add_argument("--timeout", help="Maximum time to wait for responses (ISO 8601)")
    spec: dict = {"schema": 1}
    cli_value(parser.parse_spec_args(args), spec, _VALUED)
    return spec


def spec_to_cli(spec: dict) -> list[str]:
    return cli_args(spec, _VALUED)


def _updown(value) -> str:
    return "Up" if value else "Down"


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    rows = []
    if "gateway-up" in result:
        rows.append(("Gateway", _updown(result["gateway-up"])))
    rows.append(("Network", _updown(result["network-up"])))
    if mime == "text/plain":
        return "\n".join(f"{label} ... {value}" for label, value in rows)
    cells = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "netreach",
                "Determine if any host on a network is reachable",
                scheduling_class="background",
            ),
            spec_schema=SPEC_SCHEMA,
            spec_is_valid=spec_is_valid,
            result_schema=RESULT_SCHEMA,
            participants=lambda spec: participants_from(spec, "host-node", "host"),
            cli_to_spec=cli_to_spec,
            spec_to_cli=spec_to_cli,
            result_format=result_format,
        )
    ]
