"""``psclock``: runs the clock test by asking both nodes' ``/pscheduler/clock`` (spec §6.6)."""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor

import requests
import urllib3
from pscheduler_plugins.common import enumeration, seconds_iso, verdict

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

DEFAULT_TIMEOUT = 5.0


def local_node() -> str:
    """This node's address for a spec without ``source`` when the runner did not say.

    The runner gives its own API URL in the input's ``local-node``; this fallback serves a
    tool run outside a node.
    """
    return os.environ.get("PSCHEDULER_LOCAL_NODE", "localhost")


def clock_url(node: str | None, local: str | None = None) -> str:
    """Where a node (``host`` or ``host:port``) answers its clock state.

    ``node`` None means this node: ``local`` is its API base URL (with the scheme it serves).
    """
    if node:
        return f"https://{node}/pscheduler/clock"
    if local:
        return local.rstrip("/") + "/clock"
    return f"https://{local_node()}/pscheduler/clock"


def can_run(test: dict) -> dict:
    schema = test.get("spec", {}).get("schema", 1)
    return verdict(
        [] if schema <= 2 else [f"Schema version {schema} is not supported (highest is 2)"]
    )


def _timeout(spec: dict) -> float:
    return parse_duration(spec["timeout"]).total_seconds() if "timeout" in spec else DEFAULT_TIMEOUT


def duration(test: dict) -> dt.timedelta:
    return dt.timedelta(seconds=_timeout(test["spec"]) + 1)


def fetch_clock(url: str, timeout: float) -> tuple[dict | None, str | None]:
    """(clock state, None) or (None, "<status>: <text>")."""
    try:
        response = requests.get(url, timeout=timeout, verify=False)
    except requests.RequestException as exc:
        return None, f"{url}: {exc}"
    if response.status_code != 200:
        return None, f"{response.status_code}: {response.text.strip()}"
    try:
        state = response.json()
    except ValueError:
        return None, f"{url}: returned invalid JSON"
    if not isinstance(state, dict) or "time" not in state:
        return None, f"{url}: returned no clock time"
    return state, None


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    timeout = min(_timeout(spec), max(0.1, control.remaining()))
    local = input.get("local-node")
    urls = [
        clock_url(spec.get("source-node") or spec.get("source"), local),
        clock_url(spec["dest"]),
    ]
    diags = "\n".join(f"GET {url}" for url in urls)
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return {"succeeded": False, "error": "Run was cancelled.", "diags": diags}
    with ThreadPoolExecutor(max_workers=2) as pool:
        (local, local_error), (remote, remote_error) = pool.map(
            lambda url: fetch_clock(url, timeout), urls
        )
    errors = [e for e in (local_error, remote_error) if e]
    if errors:
        return {"succeeded": False, "error": "; ".join(errors), "diags": diags}
    try:
        difference = abs(
            (parse_timestamp(local["time"]) - parse_timestamp(remote["time"])).total_seconds()
        )
    except ValueError as exc:
        return {"succeeded": False, "error": f"Unusable clock time: {exc}", "diags": diags}
    result = {
        "succeeded": True,
        "local": local,
        "remote": remote,
        "difference": seconds_iso(difference),
    }
    return {"succeeded": True, "error": None, "diags": diags, "result": result}


def merged_results(test: dict, results: list) -> dict:
    first = results[0] if results else None
    if (
        not isinstance(first, dict)
        or not first.get("succeeded")
        or not isinstance(first.get("result"), dict)
    ):
        error = first.get("error") if isinstance(first, dict) else None
        return {"schema": 1, "succeeded": False, "error": error or "No result"}
    return {"schema": 1, **first["result"]}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "psclock",
                "Compare pScheduler nodes' clocks through their APIs",
                tests=["clock"],
                preference=0,
            ),
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=merged_results,
        )
    ]
