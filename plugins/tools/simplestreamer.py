"""``simplestreamer``: the simplestream test with plain sockets in the runner's process.

Participant 1 listens on the port it announced in its participant data and returns what
it received; participant 0 connects (retrying until the timeout: the listener may start a
moment later) and sends the test material.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
import socket
import time

from pscheduler_plugins.common import enumeration, seconds, seconds_iso, verdict

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

DEFAULT_TIMEOUT = "PT5S"
TRIES = 10


def _family(spec: dict) -> int:
    version = spec.get("ip-version")
    if version is None:
        try:
            version = ipaddress.ip_address(spec["dest"]).version
        except ValueError:
            info = socket.getaddrinfo(spec["dest"], None, proto=socket.IPPROTO_TCP)
            return info[0][0]
    return socket.AF_INET6 if version == 6 else socket.AF_INET


def participant_data(test: dict, participant: int) -> dict:
    if participant != 1:
        return {}
    with socket.socket(_family(test["spec"]), socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return {"listen-port": sock.getsockname()[1]}


def _fail(error: str, diags: str = "") -> dict:
    return {"succeeded": False, "error": error, "diags": diags, "result": None}


def _send(spec: dict, port: int, control, until: float) -> dict:
    dawdle = seconds(spec["dawdle"]) * random.random() if "dawdle" in spec else 0.0
    if control.stop.wait(dawdle):
        return _fail("Run was cancelled.")
    material = spec.get("test-material") or f"Data sent at {dt.datetime.now()}"
    diags, error = [], None
    pause = max(0.05, (until - time.monotonic()) / TRIES)
    for attempt in range(1, TRIES + 1):
        left = until - time.monotonic()
        if left <= 0:
            diags.append("Ran out of time trying to connect.")
            break
        try:
            with socket.socket(_family(spec), socket.SOCK_STREAM) as sock:
                if "source" in spec:
                    sock.bind((spec["source"], 0))
                sock.settimeout(left)
                sock.connect((spec["dest"], port))
                sock.sendall(material.encode())
            diags.append(f"Try {attempt} succeeded.")
            return {
                "succeeded": True,
                "error": None,
                "diags": "\n".join(diags),
                "result": {"dawdled": seconds_iso(dawdle), "sent": material},
            }
        except OSError as exc:
            error = f"Failed to connect: {exc.strerror or exc}"
            diags.append(f"Try {attempt} failed: {error}")
            if control.stop.wait(pause):
                break
    return _fail(error or "Failed to connect", "\n".join(diags))


def _receive(spec: dict, port: int, control, until: float, began: float) -> dict:
    diags = [f"Listening on {spec['dest']}:{port}"]
    chunks: list[bytes] = []
    try:
        with socket.socket(_family(spec), socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("", port))
            sock.listen(1)
            while True:  # short accept timeouts so that a cancel is noticed
                if control.stop.is_set():
                    return _fail("Run was cancelled.", "\n".join(diags))
                left = until - time.monotonic()
                if left <= 0:
                    return _fail("Client never connected.", "\n".join(diags))
                sock.settimeout(min(left, 0.5))
                try:
                    connection, peer = sock.accept()
                    break
                except TimeoutError:
                    continue
            diags.append(f"Connection from {peer[0]}")
            with connection:
                connection.settimeout(max(0.1, until - time.monotonic()))
                while data := connection.recv(4096):
                    chunks.append(data)
    except OSError as exc:
        return _fail(f"Receiver failed: {exc.strerror or exc}", "\n".join(diags))
    return {
        "succeeded": True,
        "error": None,
        "diags": "\n".join(diags),
        "result": {
            "received": b"".join(chunks).decode("utf-8", "replace"),
            "elapsed-time": seconds_iso(time.monotonic() - began),
        },
    }


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    began = time.monotonic()
    if "fail" in spec:
        draw = random.random()
        if draw < spec["fail"]:
            return _fail("Randomly-induced failure", f"Random {draw:f} on prob. {spec['fail']:f}")
    pdata = input.get("participant-data") or []
    port = (pdata[1] if len(pdata) > 1 else {}).get("listen-port")
    if port is None:
        return _fail("No listen-port in the participant data")
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return _fail("Run was cancelled.")
    until = time.monotonic() + seconds(spec.get("timeout", DEFAULT_TIMEOUT))
    if input.get("participant", 0) == 1:
        return _receive(spec, port, control, until, began)
    return _send(spec, port, control, until)


def merged_results(test: dict, results: list) -> dict:
    ok = len(results) == 2 and all(isinstance(r, dict) and r.get("succeeded") for r in results)
    if not ok:
        errors = [
            f"participant {n}: {r.get('error') if isinstance(r, dict) else 'no result'}"
            for n, r in enumerate(results)
            if not (isinstance(r, dict) and r.get("succeeded"))
        ]
        return {"schema": 1, "succeeded": False, "error": "; ".join(errors) or "No results"}
    sender, receiver = results[0]["result"], results[1]["result"]
    return {
        "schema": 1,
        "succeeded": True,
        "dawdled": sender["dawdled"],
        "sent": sender["sent"],
        "received": receiver["received"],
        "elapsed-time": receiver["elapsed-time"],
    }


def duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    total = seconds(spec.get("timeout", DEFAULT_TIMEOUT)) + seconds(spec.get("dawdle", "PT0S"))
    return dt.timedelta(seconds=total + 1)


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "simplestreamer", "Stream a string over TCP", tests=["simplestream"], preference=0
            ),
            duration=duration,
            run=run,
            can_run=lambda test: verdict([]),
            participant_data=participant_data,
            merged_results=merged_results,
        )
    ]
