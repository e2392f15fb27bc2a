"""The clock test with psclock, against tiny HTTPS servers serving /pscheduler/clock."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pscheduler_plugins.tools.psclock import clock_url

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from tests.plugins.plugin_helpers import (
    control_for,
    formatted,
    get_test,
    get_tool,
    measure,
    run_input,
)


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (the tool does not verify, as the original)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def serve_clock(context, state: dict | None, status: int = 200):
    """Start an HTTPS server answering /pscheduler/clock; returns (server, 'host:port')."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path != "/pscheduler/clock" or status != 200:
                self.send_error(status if status != 200 else 404, "Clock unavailable")
                return
            body = json.dumps(state).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def nodes(tls_context):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    local_state = {
        "time": now.isoformat(),
        "synchronized": True,
        "source": "ntp",
        "reference": "192.0.2.1",
        "offset": 0.001,
    }
    remote_state = {"time": (now + dt.timedelta(seconds=2.5)).isoformat(), "synchronized": False}
    servers = [
        serve_clock(tls_context, local_state),
        serve_clock(tls_context, remote_state),
        serve_clock(tls_context, None, status=500),
    ]
    yield [address for _, address in servers], local_state, remote_state
    for server, _ in servers:
        server.shutdown()


def test_clock_difference_between_two_nodes(nodes):
    (local, remote, _), local_state, remote_state = nodes
    spec = {"schema": 1, "source": local, "dest": remote, "timeout": "PT2S"}
    _, merged = measure("psclock", "clock", spec)
    assert merged["succeeded"] and merged["difference"] == "PT2.5S"
    assert merged["local"] == local_state and merged["remote"] == remote_state
    text, html = formatted("clock", spec, merged)
    assert text.startswith("Local:") and "Synchronized ... ntp, 192.0.2.1" in text
    assert "Remote:" in text and text.endswith(" PT2.5S") and "Difference ..." in text
    assert html.startswith("<table>")


def test_http_error_fails_with_status_and_text(nodes):
    (local, _, broken), _, _ = nodes
    tool = get_tool("psclock")
    spec = {"source": local, "dest": broken, "timeout": "PT2S"}
    test = {"type": "clock", "spec": spec}
    merged = plugins.merged_results(
        tool, test, [tool.run(run_input("clock", spec), control_for(tool, test))]
    )
    assert merged["succeeded"] is False and merged["error"].startswith("500: ")


def test_url_building_and_duration():
    assert clock_url("ps.example.net:8443") == "https://ps.example.net:8443/pscheduler/clock"
    assert (
        get_tool("psclock").duration({"type": "clock", "spec": {"dest": "x"}}).total_seconds() == 6
    )


def test_cli():
    test = get_test("clock")
    spec = {"schema": 2, "dest": "b:443", "source": "a", "source-node": "c", "timeout": "PT3S"}
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec
    with pytest.raises(UsageError, match="--dest"):
        test.cli_to_spec(["--help"])


@pytest.mark.parametrize(
    "spec, error",
    [
        ({}, "At /: 'dest' is a required property"),
        ({"dest": "x", "other": 1}, "At /: Additional properties are not allowed"),
        ({"dest": "x", "source-node": "y"}, "At /: Additional properties are not allowed"),
        ({"dest": "a b"}, "At /dest:"),
        ({"dest": "x", "timeout": "5"}, "At /timeout:"),
        ({"schema": 3, "dest": "x"}, "Schema version 3 is not supported (highest is 2)."),
    ],
)
def test_bad_specs_are_rejected(spec, error):
    verdict = plugins.spec_is_valid(get_test("clock"), spec)
    assert verdict["valid"] is False and verdict["error"].startswith(error), verdict


# ---- this node's own /clock answer (pscheduler.node.clock) ----

ORIGINAL_KEYS_UNSYNCED = {"time", "synchronized", "source"}
ORIGINAL_KEYS_SYNCED = ORIGINAL_KEYS_UNSYNCED | {"reference", "offset"}


def test_own_clock_state_has_the_originals_keys_only():
    from pscheduler.node import clock

    state = clock.clock_state()
    expected = ORIGINAL_KEYS_SYNCED if state["synchronized"] else ORIGINAL_KEYS_UNSYNCED
    assert set(state) == expected
    assert state["source"] in ("chrony", "ntp", "unknown")
    assert dt.datetime.fromisoformat(state["time"]).utcoffset() is not None


def test_synchronized_kernel_without_a_daemon_gives_its_own_estimate(monkeypatch):
    """A kernel that reports sync (this machine's does not) with no chrony or ntpd to name:
    reference and offset come from adjtimex, and nothing asks an NTP server."""
    from pscheduler.node import clock

    kernel = {
        "synchronized": True,
        "state": 0,
        "offset": 0.000125,
        "maxerror": 0.1,
        "esterror": 0.0,
    }
    monkeypatch.setattr(clock, "kernel_clock", lambda: kernel)
    monkeypatch.setattr(clock, "_chrony", lambda: None)
    monkeypatch.setattr(clock, "_ntpd", lambda: None)
    monkeypatch.setattr(clock, "_ntp_query", lambda server: pytest.fail("asked NTP"))
    state = clock.clock_state()
    assert set(state) == ORIGINAL_KEYS_SYNCED
    assert state["synchronized"] is True and state["source"] == "unknown"
    assert state["offset"] == 0.000125 and state["reference"] == "kernel clock discipline"
    assert "problem" not in clock.clock_diagnosis(None)


def test_diagnosis_says_why_the_clock_is_not_synchronized(monkeypatch):
    from pscheduler.node import clock

    monkeypatch.setattr(clock, "kernel_clock", lambda: None)
    monkeypatch.setattr(clock, "_chrony", lambda: None)
    monkeypatch.setattr(clock, "_ntpd", lambda: None)
    assert set(clock.clock_state()) == ORIGINAL_KEYS_UNSYNCED
    diagnosis = clock.clock_diagnosis(None)
    assert diagnosis["problem"] == "The kernel's clock state (adjtimex) cannot be read"
    assert "ntp-check" not in diagnosis
