"""``dnspy``: runs the dns test with dnspython (spec §6.9).

``nameserver`` must be an IP address; ``<ipv4>:<port>`` or ``[<ipv6>]:<port>`` names a
non-standard port (an extension the original lacks, handy for local servers).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import time

import dns.exception
import dns.resolver
import dns.reversename
from pscheduler_plugins.common import enumeration, failed, seconds_iso, verdict

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp

DEFAULT_TIMEOUT = 5.0
_WITH_PORT = re.compile(r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<v4>[\d.]+)):(?P<port>\d{1,5})$")


def nameserver_address(text: str) -> tuple[str, int]:
    """(ip, port) of a nameserver spec value; ValueError when it is not an IP address."""
    match = _WITH_PORT.match(text)
    address, port = (match["v6"] or match["v4"], int(match["port"])) if match else (text, 53)
    return str(ipaddress.ip_address(address)), port


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = []
    if spec.get("schema", 1) > 1:
        reasons.append(f"Schema version {spec['schema']} is not supported (highest is 1)")
    if "nameserver" in spec:
        try:
            nameserver_address(spec["nameserver"])
        except ValueError:
            reasons.append("dnspy needs the nameserver as an IP address")
    return verdict(reasons)


def _timeout(spec: dict) -> float:
    return parse_duration(spec["timeout"]).total_seconds() if "timeout" in spec else DEFAULT_TIMEOUT


def duration(test: dict) -> dt.timedelta:
    return dt.timedelta(seconds=_timeout(test["spec"]) + 1)


def answer_record(kind: str, answer) -> object:
    """The test's ``record`` member for a dnspython answer."""
    if kind in ("a", "aaaa"):
        return [r.address for r in answer]
    if kind == "ns":
        return [r.target.to_text() for r in answer]
    if kind == "txt":
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
    if kind in ("cname", "ptr"):
        return answer[0].target.to_text()
    if kind == "mx":
        return [{"pref": r.preference, "mx": r.exchange.to_text()} for r in answer]
    soa = answer[0]
    return {
        "nameserver": soa.mname.to_text(),
        "owner": soa.rname.to_text(),
        "serial": soa.serial,
        "refresh": soa.refresh,
        "retry": soa.retry,
        "expire": soa.expire,
        "minimum": soa.minimum,
    }


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    kind = spec["record"].lower()
    timeout = min(_timeout(spec), max(0.1, control.remaining()))
    if "nameserver" in spec:
        resolver = dns.resolver.Resolver(configure=False)
        address, port = nameserver_address(spec["nameserver"])
        resolver.nameservers = [address]
        resolver.port = port
    else:
        resolver = dns.resolver.Resolver()
    resolver.lifetime = timeout
    resolver.timeout = timeout / max(1, len(resolver.nameservers))
    query = dns.reversename.from_address(spec["query"]) if kind == "ptr" else spec["query"]
    diags = f"dnspython {kind.upper()} {query} via {', '.join(map(str, resolver.nameservers))}"
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    started = time.perf_counter()
    error = None
    try:
        answer = resolver.resolve(query, kind.upper(), raise_on_no_answer=True)
    except dns.exception.Timeout:
        error = "Timeout"
    except dns.resolver.NXDOMAIN:
        error = "Domain does not exist"
    except (dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        error = "No answer"
    except dns.exception.DNSException as exc:
        error = f"DNS error: {exc}"
    took = seconds_iso(time.perf_counter() - started)
    if error:
        return {
            "succeeded": False,
            "error": error,
            "diags": diags,
            "result": {"schema": 1, "time": took, "succeeded": False},
        }
    result = {"schema": 1, "succeeded": True, "time": took, "record": answer_record(kind, answer)}
    return {"succeeded": True, "error": None, "diags": diags, "result": result}


def merged_results(test: dict, results: list) -> dict:
    """``results[0].result`` with the error kept; an error object (never null) otherwise."""
    first = results[0] if results else None
    body = first.get("result") if isinstance(first, dict) else None
    if not isinstance(body, dict):
        error = first.get("error") if isinstance(first, dict) else None
        return {"schema": 1, "succeeded": False, "error": error or "No result"}
    merged = dict(body)
    if not merged.get("succeeded"):
        merged["error"] = first.get("error")
    return merged


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "dnspy", "Query DNS with dnspython", tests=["dns"], preference=0
            ),
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=merged_results,
        )
    ]
