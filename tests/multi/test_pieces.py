"""The pure pieces of the multi-node code: range intersection, addresses, queue backoff."""

from __future__ import annotations

import datetime as dt

from pscheduler.config import Config
from pscheduler.peers import client as peers
from pscheduler.peers import queue as httpqueue
from pscheduler.scheduling import coplace as coplacement
from pscheduler.tasks import mesh as tasking

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_intersect_keeps_only_time_free_everywhere():
    mine = [(at(0), at(10)), (at(20), at(40))]
    theirs = [(at(5), at(25)), (at(30), at(35))]
    assert coplacement.intersect(mine, theirs) == [
        (at(5), at(10)),
        (at(20), at(25)),
        (at(30), at(35)),
    ]
    assert coplacement.intersect(mine, []) == []


def test_participant_addresses_and_urls():
    assert tasking.split_host("[::1]:8443") == ("::1", 8443)
    assert tasking.split_host("::1") == ("::1", None)
    assert tasking.split_host("ps.example.net:443") == ("ps.example.net", 443)
    assert peers.url("::1", "/api") == "https://[::1]/pscheduler/api"
    assert peers.url("[::1]:8443", "tasks/x") == "https://[::1]:8443/pscheduler/tasks/x"
    assert peers.url("127.0.0.3:8443", "/clock") == "https://127.0.0.3:8443/pscheduler/clock"


def test_is_me_compares_address_and_port():
    config = Config(listen="127.0.0.2:8443", state_dir="/tmp/x").finish()
    assert tasking.is_me("127.0.0.2:8443", config)
    assert tasking.is_me("127.0.0.2", config)  # no port: the host alone decides
    assert not tasking.is_me("127.0.0.2:9000", config)
    assert not tasking.is_me("127.0.0.3:8443", config)
    assert tasking.default_bind(config) == "127.0.0.2"
    assert tasking.default_bind(Config(listen="0.0.0.0:8443", state_dir="/tmp/x").finish()) is None


def test_queue_backoff_doubles_and_is_capped():
    assert [httpqueue.backoff(n, 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert httpqueue.backoff(30, 1.0) == 60.0
    assert httpqueue.backoff(30, 120.0) == 3600.0


def test_unreachable_peer_error_names_the_host():
    try:
        peers.request("GET", "127.0.0.9:1", "/api", timeout=2)
    except peers.PeerError as exc:
        assert str(exc).startswith("127.0.0.9:1: cannot be reached")
        assert exc.host == "127.0.0.9:1"
    else:
        raise AssertionError("a closed port answered")


def test_requests_to_peers_reuse_one_tls_context_and_their_connections(node, monkeypatch):
    """Each new connection used to build a TLS context and load the CA store into it: in a
    16-node mesh the schedulers spent most of their CPU there (bench/mesh.py)."""
    import ssl

    loads = []
    real = ssl.SSLContext.load_default_certs
    monkeypatch.setattr(
        ssl.SSLContext, "load_default_certs", lambda self, *a: loads.append(1) or real(self, *a)
    )
    handshakes = []
    real_wrap = ssl.SSLContext.wrap_socket
    monkeypatch.setattr(
        ssl.SSLContext,
        "wrap_socket",
        lambda self, *a, **kw: handshakes.append(self) or real_wrap(self, *a, **kw),
    )
    # Other peers' pools in between do not push this one's out (a mesh lead talks to many).
    for _ in range(20):
        assert peers.request("GET", node.address, "/api").json() == 6
        for other in range(2, 8):
            try:
                peers.request("GET", f"127.0.0.{other}:9", "/api", timeout=0.2)
            except peers.PeerError:
                pass
    assert loads == []
    assert handshakes and set(map(id, handshakes)) == {id(peers._TLS)}
    assert len(handshakes) <= 2  # kept alive: not one handshake per request
