"""A DNS server on 127.0.0.1 answering Team Cymru's zones for a few addresses, for the
limit identifiers and trace hops' AS (no traffic leaves the machine).

- 192.168.0.1 and 1000::1 are bogons (A 127.0.0.2); 8.8.8.8 and 2001:4860::8888 are not
  (NXDOMAIN); 198.51.100.7's bogon query fails (SERVFAIL: no definitive answer).
- 8.8.8.8 is announced by AS15169 (peers 3356 and 6939), 2001:4860::8888 by AS15169;
  9.9.9.9 has no origin (NXDOMAIN).
"""

from __future__ import annotations

import contextlib
import socket

import dnslib
from dnslib import RR
from dnslib.server import BaseResolver, DNSServer

from pscheduler.toolkit import cymru

ANSWERS = {
    (cymru.bogon_name("192.168.0.1"), "A"): "127.0.0.2",
    (cymru.bogon_name("1000::1"), "A"): "127.0.0.2",
    (cymru.origin_name("8.8.8.8"), "TXT"): '"15169 | 8.8.8.0/24 | US | arin | 2023-12-28"',
    (cymru.origin_name("8.8.8.8", peers=True), "TXT"): '"3356 6939 | 8.8.8.0/24 | US | arin |"',
    (cymru.origin_name("2001:4860::8888"), "TXT"): '"15169 | 2001:4860::/32 | US | arin |"',
    ("AS15169.asn.cymru.com.", "TXT"): '"15169 | US | arin | 2000-03-30 | GOOGLE - Google LLC, US"',
}
SERVFAIL = {cymru.bogon_name("198.51.100.7")}


class CymruResolver(BaseResolver):
    def __init__(self) -> None:
        self.queries: list[tuple[str, str]] = []

    def resolve(self, request, handler):
        reply = request.reply()
        qname, qtype = str(request.q.qname), dnslib.QTYPE[request.q.qtype]
        self.queries.append((qname, qtype))
        if qname in SERVFAIL:
            reply.header.rcode = dnslib.RCODE.SERVFAIL
            return reply
        answer = ANSWERS.get((qname, qtype))
        if answer is None:
            reply.header.rcode = dnslib.RCODE.NXDOMAIN
        else:
            reply.add_answer(*RR.fromZone(f"{qname} 60 IN {qtype} {answer}"))
        return reply


@contextlib.contextmanager
def cymru_server():
    """(``127.0.0.1:port``, resolver recording the queries) while the server runs."""
    resolver = CymruResolver()
    server = DNSServer(resolver, address="127.0.0.1", port=0)
    server.start_thread()
    try:
        yield f"127.0.0.1:{server.server.server_address[1]}", resolver
    finally:
        server.stop()


@contextlib.contextmanager
def silent_server():
    """``127.0.0.1:port`` of a UDP socket that takes queries and never answers (offline)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
