"""``pstimer`` and ``psurl``: the psresponse test, timed in process with an HTTP client.

``pstimer`` times an API ping, a GET of ``/pscheduler/`` whose answer must be the
server's greeting; ``psurl`` times a GET of ``/pscheduler/api`` whose answer must be the
API level (a number).  A server that does not answer, or answers something else, is a
measurement (``time: null`` with the reason), not a failure of the tool.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Callable

import requests
import urllib3
from pscheduler_plugins.common import enumeration, failed, seconds, seconds_iso, verdict

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

DEFAULT_TIMEOUT = "PT10S"


def _is_greeting(body) -> bool:
    return isinstance(body, str) and "pScheduler API server" in body


def _is_level(body) -> bool:
    return isinstance(body, int) and not isinstance(body, bool)


class _SourceAdapter(requests.adapters.HTTPAdapter):
    """Binds outgoing connections to the spec's ``source`` address."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        return super().init_poolmanager(*args, **kwargs)


def _timer(path: str, accept: Callable[[object], bool], what: str):
    def run(input: dict, control) -> dict:
        spec = input["test"]["spec"]
        url = f"https://{spec['dest']}/pscheduler{path}"
        timeout = seconds(spec.get("timeout", DEFAULT_TIMEOUT))
        if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
            return failed("Run was cancelled.")
        session = requests.Session()
        if "source" in spec:
            session.mount("https://", _SourceAdapter(spec["source"]))
        reason = None
        began = time.monotonic()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                response = session.get(url, timeout=timeout, verify=False)
            elapsed = time.monotonic() - began
            if response.status_code != 200:
                reason = f"{url} returned {response.status_code}: {response.text.strip()[:200]}"
            else:
                try:
                    body = response.json()
                except ValueError:
                    body = None
                if not accept(body):
                    reason = f"{url} did not answer with {what}"
        except requests.RequestException as exc:
            reason = f"{url}: {exc}"
        finally:
            session.close()
        result: dict = {"succeeded": True, "time": None if reason else seconds_iso(elapsed)}
        if reason:
            result["reason"] = reason
        return {"succeeded": True, "result": result, "diags": f"GET {url}"}

    return run


def _merge(test: dict, results: list) -> dict:
    first = results[0] if results else None
    if not isinstance(first, dict) or not first.get("succeeded"):
        error = first.get("error") if isinstance(first, dict) else None
        return {"schema": 1, "succeeded": False, "error": error or "No result"}
    return {"schema": 1, **first["result"]}


def _tool(name: str, description: str, run, preference: int) -> Tool:
    return Tool(
        enumeration=enumeration(name, description, tests=["psresponse"], preference=preference),
        duration=lambda test: dt.timedelta(
            seconds=seconds(test["spec"].get("timeout", DEFAULT_TIMEOUT)) + 1
        ),
        run=run,
        can_run=lambda test: verdict([]),
        participant_data=lambda test, participant: {},
        merged_results=_merge,
    )


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        _tool(
            "pstimer",
            "Time a pScheduler API ping",
            _timer("/", _is_greeting, "the pScheduler greeting"),
            preference=10,
        ),
        _tool(
            "psurl",
            "Time a GET of a pScheduler's API level",
            _timer("/api", _is_level, "an API level"),
            preference=0,
        ),
    ]
