"""``iperf3``: runs the throughput test (spec §6.2).

Participant 1 runs the server, participant 0 the client; ``loopback: true`` runs both here.
participant-data: ``{"schema": 3, "iperf3-version"}`` for everybody, plus ``server_port`` and
a private ``_auth`` from the server side (as the original's iperf3 tool): an RSA key pair in
PEM (renewed hourly), a random 20-character ``username`` and ``password`` (new for every run)
and the ``credentials`` line iperf3's
``--authorized-users-path`` file wants.  The server demands those credentials only when the
client's participant data has ``schema`` >= 2 (an older client cannot use them); a client uses
them whenever the server gave them.  The run's output is the test result itself;
merged-results takes the client's (the server's when ``reverse``) and concatenates both sides'
diags.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import json
import os
import re
import secrets
import socket
import string
import subprocess
import tempfile
import threading
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pscheduler_plugins.common import (
    enumeration,
    program_missing,
    unsupported_keys,
    verdict,
)
from pscheduler_plugins.tools.listening import wait_listening

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp
from pscheduler.toolkit.ports import free_port
from pscheduler.toolkit.program import RunControl

ALLOWED = {
    "schema",
    "source",
    "source-node",
    "dest",
    "dest-node",
    "reverse",
    "omit",
    "single-ended",
    "single-ended-port",
    "duration",
    "interval",
    "link-rtt",
    "parallel",
    "window-size",
    "mss",
    "bandwidth",
    "udp",
    "buffer-length",
    "fq-rate",
    "ip-tos",
    "local-address",
    "ip-version",
    "congestion",
    "zero-copy",
    "flow-label",
    "client-cpu-affinity",
    "server-cpu-affinity",
    "loopback",
}
DEFAULT_DURATION = 10.0
AUTH_LENGTH = 20  # the longest username and password iperf3 takes
AUTH_CHARS = string.ascii_letters + string.digits
AUTH_SCHEMA = 2  # the client's participant-data schema from which the server demands auth
SERVER_WAIT = 5.0  # how long the client waits for a loopback server to listen


def _seconds(spec: dict, key: str, default: float) -> float:
    return parse_duration(spec[key]).total_seconds() if key in spec else default


def setup_time(spec: dict) -> float:
    return max(_seconds(spec, "link-rtt", 0.2) * 1000 / 50, 1)


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = program_missing("iperf3") + unsupported_keys("iperf3", spec, ALLOWED)
    if "bandwidth" in spec and "fq-rate" in spec:
        reasons.append("iperf3 cannot use bandwidth and fq-rate together")
    return verdict(reasons)


def duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    total = (
        setup_time(spec)
        + _seconds(spec, "omit", 0)
        + _seconds(spec, "duration", DEFAULT_DURATION)
        + 3
        + 2
    )
    return dt.timedelta(seconds=int(total))


@functools.lru_cache(maxsize=1)
def _version() -> str | None:
    """iperf3's version, asked once per process: every run's participant data carries it, and
    a program run per run cost a mesh participant 50 ms of its CPU per placement."""
    try:
        out = subprocess.run(
            ["iperf3", "--version"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"iperf (\S+)", out)
    return match[1] if match else None


# The RSA pair that carries a run's credentials from client to server (iperf3 --rsa-*-key-
# path) is kept for KEY_LIFETIME, as an iperf3 server keeps its key: generating 2048 bits
# costs 50-700 ms of CPU, once per throughput run placed on this node otherwise.  The user
# name and password, which are what admit a client, are still new for every run.
KEY_LIFETIME = 3600.0
_key_lock = threading.Lock()
_key: list = []  # [(monotonic time made, private PEM, public PEM)]


def _key_pair() -> tuple[str, str]:
    with _key_lock:
        if not _key or time.monotonic() - _key[0][0] > KEY_LIFETIME:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            private = key.private_bytes(
                encoding=serialization.Encoding.PEM,
                format=serialization.PrivateFormat.TraditionalOpenSSL,
                encryption_algorithm=serialization.NoEncryption(),
            )
            public = key.public_key().public_bytes(
                encoding=serialization.Encoding.PEM,
                format=serialization.PublicFormat.SubjectPublicKeyInfo,
            )
            _key[:] = [(time.monotonic(), private.decode(), public.decode())]
        return _key[0][1], _key[0][2]


def make_auth() -> dict:
    """The server side's credentials for one run, shaped as the original's ``_auth``."""
    private, public = _key_pair()
    username = "".join(secrets.choice(AUTH_CHARS) for _ in range(AUTH_LENGTH))
    password = "".join(secrets.choice(AUTH_CHARS) for _ in range(AUTH_LENGTH))
    # iperf3 keeps sha256 of "{username}password" (braces literal) per user.
    digest = hashlib.sha256(f"{{{username}}}{password}".encode()).hexdigest()
    return {
        "private": private,
        "public": public,
        "username": username,
        "password": password,
        "credentials": f"{username},{digest}\n",
    }


def participant_data(test: dict, participant: int) -> dict:
    data = {"schema": 3, "iperf3-version": _version()}
    if participant == 1:
        data["server_port"] = free_port()
        data["_auth"] = make_auth()
    return data


def _schema(data: object) -> int:
    value = data.get("schema", 1) if isinstance(data, dict) else 1
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _auth_of(pdata: list) -> dict | None:
    """The server's ``_auth`` when it is complete (an old server or a sanitised copy has none)."""
    auth = (pdata[1] if len(pdata) > 1 and isinstance(pdata[1], dict) else {}).get("_auth")
    needed = ("private", "public", "username", "password", "credentials")
    if isinstance(auth, dict) and all(isinstance(auth.get(k), str) for k in needed):
        return auth
    return None


def server_auth(pdata: list) -> dict | None:
    """The credentials the server demands: its own, when the client's data says it can."""
    client = pdata[0] if pdata else {}
    return _auth_of(pdata) if _schema(client) >= AUTH_SCHEMA else None


def _write_secret(directory: str, name: str, text: str) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return path


def server_auth_args(auth: dict, directory: str) -> list[str]:
    return [
        "--rsa-private-key-path",
        _write_secret(directory, "private.pem", auth["private"]),
        "--authorized-users-path",
        _write_secret(directory, "users.csv", auth["credentials"]),
    ]


def client_auth_args(auth: dict, directory: str) -> list[str]:
    return [
        "--username",
        auth["username"],
        "--rsa-public-key-path",
        _write_secret(directory, "public.pem", auth["public"]),
    ]


# ---- command lines ----


def _bind_dest(spec: dict) -> list[str]:
    """``-B dest`` when dest is an address of this host: a wildcard UDP server answers from
    the interface's primary address, which a client connected to ``dest`` ignores (it hangs,
    e.g. with nodes on 127.0.0.2 and 127.0.0.3)."""
    dest = spec.get("dest", "")
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(dest).version == 6 else socket.AF_INET
    except ValueError:
        return []
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((dest, 0))
    except OSError:
        return []
    return ["-B", dest]


def server_argv(spec: dict, port: int) -> list[str]:
    argv = ["iperf3", "-s", "-1", "-J", "-p", str(port), *_bind_dest(spec)]
    if "server-cpu-affinity" in spec:
        argv += ["-A", str(spec["server-cpu-affinity"])]
    if "interval" in spec:
        argv += ["-i", f"{_seconds(spec, 'interval', 1):g}"]
    return argv


def client_argv(spec: dict, dest: str, port: int) -> list[str]:
    argv = [
        "iperf3",
        "-c",
        dest,
        "-p",
        str(port),
        "-J",
        "-t",
        f"{_seconds(spec, 'duration', DEFAULT_DURATION):g}",
    ]
    if "interval" in spec:
        argv += ["-i", f"{_seconds(spec, 'interval', 1):g}"]
    if "omit" in spec:
        argv += ["-O", f"{_seconds(spec, 'omit', 0):g}"]
    valued = {
        "parallel": "-P",
        "window-size": "-w",
        "mss": "-M",
        "bandwidth": "-b",
        "buffer-length": "-l",
        "fq-rate": "--fq-rate",
        "ip-tos": "-S",
        "local-address": "-B",
        "congestion": "-C",
        "flow-label": "-L",
        "client-cpu-affinity": "-A",
    }
    for key, flag in valued.items():
        if key in spec:
            argv += [flag, str(spec[key])]
    flags = {"udp": "-u", "reverse": "-R", "zero-copy": "-Z", "no-delay": "-N"}
    argv += [flag for key, flag in flags.items() if spec.get(key)]
    if spec.get("ip-version"):
        argv.append(f"-{spec['ip-version']}")
    return argv


# ---- iperf3 JSON -> test result ----


def _data(raw: dict) -> dict:
    data = {
        "stream-id": raw.get("socket"),
        "start": raw.get("start"),
        "end": raw.get("end"),
        "throughput-bits": raw.get("bits_per_second"),
        "throughput-bytes": raw.get("bytes"),
        "omitted": raw.get("omitted", False),
    }
    optional = {
        "retransmits": "retransmits",
        "snd_cwnd": "tcp-window-size",
        "rtt": "rtt",
        "mean_rtt": "rtt",
        "max_snd_cwnd": "tcp-window-size",
        "packets": "sent",
        "lost_packets": "lost",
        "jitter_ms": "jitter",
    }
    for raw_key, key in optional.items():
        if raw.get(raw_key) is not None:
            data[key] = raw[raw_key]
    return data


def convert(report: dict, udp: bool) -> dict:
    """The throughput result from one side's ``iperf3 -J`` report."""
    intervals = [
        {"streams": [_data(s) for s in i.get("streams", [])], "summary": _data(i.get("sum", {}))}
        for i in report.get("intervals", [])
    ]
    end = report.get("end", {})
    streams = []
    for stream in end.get("streams", []):
        raw = stream.get("udp") or stream.get("sender") or stream.get("receiver") or {}
        streams.append(_data(raw))
    if udp:
        total = _data(end.get("sum", {}))
    else:
        total = _data(end.get("sum_sent", {}))
    received = end.get("sum_received", {}).get("bits_per_second")
    if received is not None:
        total["receiver-throughput-bits"] = received
    result = {
        "schema": 1,
        "succeeded": True,
        "intervals": intervals,
        "summary": {"streams": streams, "summary": total},
    }
    mss = report.get("start", {}).get("tcp_mss_default")
    if mss is not None:
        result["mss"] = mss
    return result


def _outcome(done, argv: list[str], udp: bool) -> dict:
    diags = " ".join(argv)
    try:
        report = json.loads(done.stdout) if done.stdout.strip() else {}
    except ValueError:
        report = {}
    if report.get("error") or done.status != 0 or not report:
        error = (
            report.get("error") or done.stderr.strip() or f"iperf3 exited with status {done.status}"
        )
        return {"schema": 1, "succeeded": False, "error": error, "diags": diags}
    return {**convert(report, udp), "diags": diags, "error": None}


def _wait_listening(port: int, control, started: threading.Thread) -> bool:
    """Bounded wait until a loopback server listens on ``port`` (iperf3 -1 serves exactly
    one test, so probe for the socket, not with a connect)."""
    return wait_listening("iperf3", port, control, started)


def _child(control) -> RunControl:
    """A RunControl for a helper program that stops with ``control`` or on its own."""
    child = RunControl(
        deadline=control.deadline, tmpdir=control.tmpdir, wrappers=list(control.wrappers)
    )

    def follow() -> None:
        while not child.stop.is_set() and not control.stop.wait(0.2):
            pass
        child.stop.set()

    threading.Thread(target=follow, daemon=True).start()
    return child


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    udp = bool(spec.get("udp"))
    participant = input.get("participant", 0)
    pdata = input.get("participant-data") or [{}]
    start = parse_timestamp(input["schedule"]["start"])

    if spec.get("loopback"):
        port = free_port()
        s_argv = server_argv(spec, port)
        if not control.sleep_until(start):
            return {"schema": 1, "succeeded": False, "error": "Run was cancelled."}
        server_done: dict = {}
        server_control = _child(control)
        server = threading.Thread(
            target=lambda: server_done.update(r=server_control.run_program(s_argv)), daemon=True
        )
        server.start()
        if not _wait_listening(port, control, server):
            server_control.stop.set()
            server.join(5)
            return {
                "schema": 1,
                "succeeded": False,
                "error": "The iperf3 server did not start listening",
                "diags": " ".join(s_argv),
            }
        c_argv = client_argv(spec, spec.get("dest", "127.0.0.1"), port)
        client = control.run_program(c_argv)
        server.join(min(5.0, control.remaining()))
        server_control.stop.set()  # a server whose client never came must not linger
        server.join(5)
        result = _outcome(client, c_argv, udp)
        served = server_done.get("r")
        result["diags"] = "\n".join([" ".join(s_argv), result["diags"]])
        if served is not None and served.status != 0 and result["succeeded"]:
            result["diags"] += f"\nserver: {served.stderr.strip()}"
        return result

    if spec.get("single-ended"):
        port = spec.get("single-ended-port", 5201)
    else:
        port = (pdata[1] if len(pdata) > 1 else {}).get("server_port")
        if port is None:
            return {"schema": 1, "succeeded": False, "error": "No server_port in participant data"}
    with tempfile.TemporaryDirectory(prefix="iperf3-auth-", dir=control.tmpdir) as secrets_dir:
        if participant == 1:
            argv = server_argv(spec, port)
            auth = None if spec.get("single-ended") else server_auth(pdata)
            if auth is not None:
                argv += server_auth_args(auth, secrets_dir)
            if not control.sleep_until(start):
                return {"schema": 1, "succeeded": False, "error": "Run was cancelled."}
            return _outcome(control.run_program(argv), argv, udp)
        argv = client_argv(spec, spec["dest"], port)
        auth = None if spec.get("single-ended") else _auth_of(pdata)
        env = None
        if auth is not None:
            argv += client_auth_args(auth, secrets_dir)
            env = {"IPERF3_PASSWORD": auth["password"]}
        # The server starts at the start time; give it the setup time to be listening.
        if not control.sleep_until(start + dt.timedelta(seconds=setup_time(spec))):
            return {"schema": 1, "succeeded": False, "error": "Run was cancelled."}
        return _outcome(control.run_program(argv, env=env), argv, udp)


def merged_results(test: dict, results: list) -> dict:
    spec = test.get("spec", {})
    results = [
        r if isinstance(r, dict) else {"succeeded": False, "error": "No result from participant"}
        for r in results
    ]
    if not results:
        return {"schema": 1, "succeeded": False, "error": "No results"}
    client = results[0]
    chosen = results[1] if spec.get("reverse") and len(results) > 1 else client
    merged = dict(chosen)
    if chosen is not client and client.get("succeeded") and merged.get("succeeded"):
        received = client.get("summary", {}).get("summary", {}).get("receiver-throughput-bits")
        if received is not None:
            merged["summary"]["summary"]["receiver-throughput-bits"] = received
    merged["diags"] = "\n\n".join(str(r.get("diags")) for r in results if r.get("diags")) or ""
    if not all(r.get("succeeded") for r in results):
        errors = [
            f"participant {n}: {r.get('error')}"
            for n, r in enumerate(results)
            if not r.get("succeeded")
        ]
        return {
            "schema": 1,
            "succeeded": False,
            "error": "; ".join(errors),
            "diags": merged["diags"],
        }
    merged.setdefault("schema", 1)
    return merged


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "iperf3", "Measure throughput with iperf3", tests=["throughput"], preference=10
            ),
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=participant_data,
            merged_results=merged_results,
        )
    ]
