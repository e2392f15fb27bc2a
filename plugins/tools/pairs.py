"""Running a throughput program as a server/client pair, for nuttcp and iperf2.

Participant 1 runs the server from the start time, participant 0 the client after the
setup time; ``loopback: true`` runs both here.  The client's output is the result; the
server's side only adds its diags (and its failure, if it failed).  A tool supplies its
command lines and a parser of the client's output into the throughput result.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pscheduler_plugins.tools.iperf3 import _child, setup_time
from pscheduler_plugins.tools.listening import wait_listening

from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp
from pscheduler.toolkit.ports import free_ports

DEFAULT_DURATION = 10.0
RETRY_FOR = 3.0  # seconds a client keeps retrying a refused connection


def seconds_of(spec: dict, key: str, default: float) -> float:
    return parse_duration(spec[key]).total_seconds() if key in spec else default


@dataclass(frozen=True)
class Pair:
    """How one program serves and measures; ``ports`` is the list of ports it needs."""

    name: str
    program: str
    server: Callable[[dict, list[int]], list[str]]
    client: Callable[[dict, str, list[int]], list[str]]
    parse: Callable[[str, dict], dict | None]
    ports: int = 1

    def duration(self, test: dict) -> dt.timedelta:
        spec = test["spec"]
        total = setup_time(spec) + seconds_of(spec, "duration", DEFAULT_DURATION) + RETRY_FOR + 5
        return dt.timedelta(seconds=int(total))

    def participant_data(self, test: dict, participant: int) -> dict:
        if participant == 1:
            return {"schema": 1, "ports": free_ports(self.ports)}
        return {"schema": 1}

    def outcome(self, done, argv: list[str], spec: dict) -> dict:
        diags = " ".join(argv) + "\n\n" + done.stdout + done.stderr
        result = self.parse(done.stdout, spec) if done.status == 0 else None
        if result is None:
            error = done.stderr.strip() or f"{self.name} exited with status {done.status}"
            return {"schema": 1, "succeeded": False, "error": error, "diags": diags}
        return {"schema": 1, "succeeded": True, **result, "diags": diags, "error": None}

    def run(self, input: dict, control) -> dict:
        spec = input["test"]["spec"]
        start = parse_timestamp(input["schedule"]["start"])
        if spec.get("loopback"):
            return self._loopback(spec, start, control)
        pdata = input.get("participant-data") or [{}]
        ports = (pdata[1] if len(pdata) > 1 else {}).get("ports")
        if not ports:
            return {"schema": 1, "succeeded": False, "error": "No server ports in participant data"}
        if input.get("participant", 0) == 1:
            argv = self.server(spec, ports)
            if not control.sleep_until(start):
                return {"schema": 1, "succeeded": False, "error": "Run was cancelled."}
            done = control.run_program(argv)
            diags = " ".join(argv) + "\n\n" + done.stdout + done.stderr
            if done.status != 0:
                error = done.stderr.strip() or f"{self.name} server exited with {done.status}"
                return {"schema": 1, "succeeded": False, "error": error, "diags": diags}
            return {"schema": 1, "succeeded": True, "diags": diags}
        argv = self.client(spec, spec["dest"], ports)
        if not control.sleep_until(start + dt.timedelta(seconds=setup_time(spec))):
            return {"schema": 1, "succeeded": False, "error": "Run was cancelled."}
        # A server slow to start refuses the first connections: try again for a while.
        retry_until = time.monotonic() + RETRY_FOR
        while True:
            done = control.run_program(argv)
            refused = "refused" in (done.stdout + done.stderr).lower()
            if not refused or time.monotonic() > retry_until or control.stop.wait(0.2):
                return self.outcome(done, argv, spec)

    def _loopback(self, spec: dict, start: dt.datetime, control) -> dict:
        ports = free_ports(self.ports)
        s_argv = self.server(spec, ports)
        if not control.sleep_until(start):
            return {"schema": 1, "succeeded": False, "error": "Run was cancelled."}
        served: dict = {}
        server_control = _child(control)
        server = threading.Thread(
            target=lambda: served.update(r=server_control.run_program(s_argv)), daemon=True
        )
        server.start()
        if not wait_listening(self.program, ports[0], control, server):
            server_control.stop.set()
            server.join(5)
            return {
                "schema": 1,
                "succeeded": False,
                "error": f"The {self.name} server did not start listening",
                "diags": " ".join(s_argv),
            }
        c_argv = self.client(spec, spec.get("dest", "127.0.0.1"), ports)
        result = self.outcome(control.run_program(c_argv), c_argv, spec)
        server.join(min(5.0, control.remaining()))
        server_control.stop.set()  # a server whose client never came must not linger
        server.join(5)
        result["diags"] = " ".join(s_argv) + "\n" + result["diags"]
        return result

    def merged_results(self, test: dict, results: list) -> dict:
        results = [
            r if isinstance(r, dict) else {"succeeded": False, "error": "No result"}
            for r in results
        ]
        if not results:
            return {"schema": 1, "succeeded": False, "error": "No results"}
        diags = "\n\n".join(str(r["diags"]) for r in results if r.get("diags"))
        failures = [
            f"participant {n}: {r.get('error')}"
            for n, r in enumerate(results)
            if not r.get("succeeded")
        ]
        if failures:
            return {"schema": 1, "succeeded": False, "error": "; ".join(failures), "diags": diags}
        return {**results[0], "schema": 1, "diags": diags}
