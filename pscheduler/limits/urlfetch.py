"""The ``url-fetch`` limit: ask a web service whether the task may run.

GET ``url``; a 200 answer with JSON ``{"passed": bool, "message"?: str}`` is the verdict.
Transforms (jq) get ``{url|headers|params, run: <task>}`` plus private hints reachable with
``hint($name)``.  Unlike the original, static ``headers`` and ``params`` are sent even when
there is no transform for them.
"""

from __future__ import annotations

from pscheduler.limits.fetch import http_get
from pscheduler.limits.jqscript import JqError, compile_spec
from pscheduler.limits.schemas import DURATION, JQ_TRANSFORM
from pscheduler.toolkit import parse_duration

PRIVATE = "__URL_FETCH_PRIVATE__"
HEADER = f"def hint($name): .{PRIVATE}.hints[$name]; "

SCHEMA = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9+.-]*://"},
        "url-transform": JQ_TRANSFORM,
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "headers-transform": JQ_TRANSFORM,
        "params": {"type": "object", "additionalProperties": {"type": "string"}},
        "params-transform": JQ_TRANSFORM,
        "bind": {"type": "string"},
        "verify-keys": {"type": "boolean"},
        "follow-redirects": {"type": "boolean"},
        "timeout": DURATION,
        "success-only": {"type": "boolean"},
        "fail-result": {"type": "boolean"},
    },
    "required": ["url"],
    "additionalProperties": False,
}


class UrlFetch:
    SCHEMA = SCHEMA
    checks_schedule = False

    def __init__(self, data: dict):
        self.url = data["url"]
        self.headers = data.get("headers", {})
        self.params = data.get("params", {})
        self.bind = data.get("bind")
        self.verify = data.get("verify-keys", True)
        self.follow = data.get("follow-redirects", True)
        self.timeout = parse_duration(data.get("timeout", "PT3S")).total_seconds()
        self.success_only = data.get("success-only", False)
        self.fail_result = data.get("fail-result", False)
        self.transforms = {}
        for key in ("url", "headers", "params"):
            spec = data.get(f"{key}-transform")
            if spec is not None:
                try:
                    self.transforms[key] = compile_spec(spec, header=HEADER)
                except JqError as exc:
                    raise ValueError(f"Invalid {key}-transform: {exc}") from None

    def _transformed(self, key: str, value, proposal: dict):
        script = self.transforms.get(key)
        if script is None:
            return value
        return script.first(
            {key: value, "run": proposal["task"], PRIVATE: {"hints": proposal.get("hints") or {}}}
        )

    def _failed(self, reason: str) -> tuple[bool, list[str]]:
        return self.fail_result, ([] if self.fail_result else [reason])

    def evaluate(self, proposal: dict) -> tuple[bool, list[str]]:
        try:
            url = self._transformed("url", self.url, proposal)
            headers = self._transformed("headers", self.headers, proposal)
            params = self._transformed("params", self.params, proposal)
        except JqError as exc:
            return self._failed(f"Transform failed: {exc}")
        try:
            response = http_get(
                str(url),
                bind=self.bind,
                timeout=self.timeout,
                headers={str(k): str(v) for k, v in (headers or {}).items()},
                params=params or None,
                verify=self.verify,
                allow_redirects=self.follow,
            )
        except Exception as exc:
            return self._failed(f"Fetch failed: {exc}")
        if self.success_only:
            if response.status_code == 200:
                return True, []
            if response.status_code == 404:
                return False, ["Resource not found"]
            return self._failed(f"Fetch returned status {response.status_code}")
        if response.status_code != 200:
            return self._failed(f"Fetch returned status {response.status_code}")
        try:
            answer = response.json()
            passed = answer["passed"]
            if not isinstance(passed, bool):
                raise ValueError("'passed' is not a boolean")
        except Exception as exc:
            return self._failed(f"Unusable answer from server: {exc}")
        message = answer.get("message")
        if passed:
            return True, []
        return False, [str(message) if message else "Unspecified reason"]
