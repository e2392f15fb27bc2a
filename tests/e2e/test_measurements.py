"""Every measurement test end to end on a real node.

Each task goes from ``POST /tasks`` through the scheduler and the runner to a merged result,
read back as JSON, ``text/plain`` and ``text/html``; the figures are checked against what the
measured program (or the server the test started) itself reported.  Also: a target that does
not answer, a tool whose program is missing, and cancelling a run that is measuring.

The tasks are posted together by a module fixture so that their runs overlap (all but
throughput are non-exclusive): the module then takes about as long as its slowest run.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import socket
import subprocess
import threading
import time

import dnslib
import pytest
from dnslib import RR
from dnslib.server import BaseResolver, DNSServer

from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp
from tests.helpers import free_port, require_program, wait_for
from tests.tasks.util import post_task

# An address in 127/8 that no other test (or helper on this machine) pings, so that `ps`
# finds our ping and nobody else's.
CANCEL_DEST = "127.0.0.93"

ZONE = """
e2e.example.test.     60 IN A     192.0.2.77
e2e.example.test.     60 IN A     192.0.2.78
"""


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class ZoneResolver(BaseResolver):
    def __init__(self) -> None:
        self.records = RR.fromZone(ZONE)
        self.asked: list[str] = []

    def resolve(self, request, handler):
        self.asked.append(f"{request.q.qname} {dnslib.QTYPE[request.q.qtype]}")
        reply = request.reply()
        for rr in self.records:
            if rr.rname == request.q.qname and rr.rtype == request.q.qtype:
                reply.add_answer(rr)
        return reply


@pytest.fixture(scope="module")
def dns_server():
    resolver = ZoneResolver()
    server = DNSServer(resolver, address="127.0.0.1", port=0)
    server.start_thread()
    yield resolver, f"127.0.0.1:{server.server.server_address[1]}"
    server.stop()


class Page(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        Page.seen.append(self.path)
        body = b"<html>pscheduler end-to-end page</html>"
        self.send_response(203)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-E2E", "yes")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def rtt_task(dest: str, **spec) -> dict:
    return {"test": {"type": "rtt", "spec": {"dest": dest, **spec}}, "schedule": {}}


@pytest.fixture(scope="module")
def posted(node, dns_server, http_server):
    """Post every non-exclusive measurement at once; {name: response of POST /tasks}."""
    _, nameserver = dns_server
    closed = free_port()  # nothing listens there: every TCP connect is refused
    tasks = {
        "rtt4": rtt_task("127.0.0.1", count=3, interval="PT0.2S"),
        "closed": rtt_task("127.0.0.1", schema=4, count=2, port=closed, protocol="tcp"),
        "trace": {"test": {"type": "trace", "spec": {"dest": "127.0.0.1"}}, "schedule": {}},
        "latency": {
            "test": {
                "type": "latency",
                "spec": {"dest": "127.0.0.1", "packet-count": 4, "packet-interval": 0.2},
            },
            "schedule": {},
        },
        "clock": {"test": {"type": "clock", "spec": {"dest": node.address}}, "schedule": {}},
        "dns": {
            "test": {
                "type": "dns",
                "spec": {"query": "e2e.example.test", "record": "a", "nameserver": nameserver},
            },
            "schedule": {},
        },
        "http": {
            "test": {
                "type": "http",
                "spec": {
                    "schema": 2,
                    "url": http_server + "/e2e-page",
                    "parse": "end-to-end",
                    "always-succeed": True,
                    "keep-content": 0,
                },
            },
            "schedule": {},
        },
    }
    if has_ipv6_loopback():
        tasks["rtt6"] = rtt_task("::1", count=2, interval="PT0.2S")
    return {name: node.post("tasks", json=task) for name, task in tasks.items()}


def measured(node, response, wait: int = 60) -> tuple[dict, str, str]:
    """(run record, text/plain body, text/html body) of the task's first run, once merged."""
    assert response.status_code == 200, response.text
    url = response.json()
    run = node.session.get(
        url + "/runs/first", params={"wait-merged": "", "wait": str(wait)}, timeout=wait + 15
    ).json()
    assert run["state"] in ("finished", "failed"), run
    result = node.session.get(run["result-href"], timeout=15)
    assert result.status_code == 200 and result.json() == run["result-merged"]
    text = node.session.get(run["result-href"], params={"format": "text/plain"}, timeout=15)
    assert text.status_code == 200, text.text
    assert text.headers["Content-Type"].startswith("text/plain")
    html = node.session.get(run["result-href"], params={"format": "text/html"}, timeout=15)
    assert html.status_code == 200, html.text
    assert html.headers["Content-Type"].startswith("text/html")
    assert html.text.startswith("<"), html.text
    return run, text.text, html.text


def tool_diags(run: dict) -> str:
    """What the lead's tool reported besides its result: the command line and its output."""
    return run["result-full"][0]["diags"]


def check_rtt_against_ping(run: dict, text: str, dest: str, count: int) -> None:
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True
    assert (merged["sent"], merged["received"], merged["loss"]) == (count, count, 0.0)
    output = tool_diags(run)
    assert output.startswith("ping") and dest in output.splitlines()[0]
    # ping's own per-packet times (time=0.045 ms) are the ones in the result.
    reported = [float(t) for t in re.findall(r"time=([\d.]+) ms", output)]
    assert len(reported) == count
    measured_ms = [parse_duration(t["rtt"]).total_seconds() * 1000 for t in merged["roundtrips"]]
    assert measured_ms == pytest.approx(reported, abs=0.0005)
    assert re.search(rf"{count} packets transmitted, {count} received", output)
    # The text reads like ping: one line per packet, then loss and the statistics.
    lines = text.splitlines()
    for seq, trip in enumerate(merged["roundtrips"], 1):
        assert re.match(
            rf"{seq}\s+\S+ \({re.escape(dest)}\)\s+64 Bytes\s+TTL \d+\s+RTT ", lines[seq - 1]
        )
        assert f"RTT {trip_ms(trip):.4f} ms" in lines[seq - 1]
    assert lines[-1].startswith("0% Packet Loss  RTT Min/Mean/Max/StdDev = ")


def trip_ms(trip: dict) -> float:
    return parse_duration(trip["rtt"]).total_seconds() * 1000


def test_rtt_to_ipv4_loopback_matches_ping(node, posted):
    require_program("ping")
    run, text, html = measured(node, posted["rtt4"])
    check_rtt_against_ping(run, text, "127.0.0.1", 3)
    assert "<th>RTT (ms)</th>" in html and "<td>127.0.0.1</td>" in html


def test_rtt_to_ipv6_loopback_matches_ping(node, posted):
    if "rtt6" not in posted:
        pytest.skip("this machine has no IPv6 loopback")
    require_program("ping")
    run, text, _ = measured(node, posted["rtt6"])
    check_rtt_against_ping(run, text, "::1", 2)


def test_rtt_to_a_closed_port_is_total_loss_not_a_crash(node, posted):
    run, text, _ = measured(node, posted["closed"])
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True
    assert (merged["sent"], merged["received"], merged["loss"]) == (2, 0, 1.0)
    assert merged["roundtrips"] == []
    assert "refused" not in text and "100% Packet Loss" in text
    assert "TCP connect to 127.0.0.1" in tool_diags(run)


def test_trace_to_loopback_matches_traceroute(node, posted):
    require_program("traceroute")
    run, text, html = measured(node, posted["trace"])
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True and len(merged["paths"]) == 1
    hops = merged["paths"][0]
    assert [hop["ip"] for hop in hops] == ["127.0.0.1"]
    output = tool_diags(run)
    assert output.startswith("traceroute")
    hop_line = next(line for line in output.splitlines() if line.lstrip().startswith("1 "))
    assert "127.0.0.1" in hop_line
    reported_ms = float(re.search(r"([\d.]+) ms", hop_line).group(1))
    assert trip_ms(hops[0]) == pytest.approx(reported_ms, abs=0.0005)
    assert re.match(r"1\s+\S+ \(127\.0\.0\.1\) [\d.]+ ms", text)
    assert "127.0.0.1" in html


def test_latency_to_loopback_with_halfping(node, posted):
    require_program("ping")
    run, text, html = measured(node, posted["latency"])
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True
    assert (merged["packets-sent"], merged["packets-received"], merged["packets-lost"]) == (4, 4, 0)
    output = tool_diags(run)
    assert output.startswith("ping") and "4 packets transmitted, 4 received" in output
    assert sum(merged["histogram-latency"].values()) == 4
    ttls = re.findall(r"ttl=(\d+) ", output)
    assert merged["histogram-ttl"] == {t: ttls.count(t) for t in set(ttls)}
    assert "Packets Sent          4" in text and "Packets Received      4" in text
    assert "One-way Latency Statistics" in text
    assert "Packets Sent" in html


def test_clock_between_this_node_and_itself(node, posted):
    run, text, html = measured(node, posted["clock"])
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True, merged
    # The local side was asked through this node's own address and scheme.
    assert tool_diags(run).splitlines()[0] == f"GET {node.url('clock')}"
    own = node.get("clock").json()
    started = parse_timestamp(run["started"])
    for side in ("local", "remote"):
        assert merged[side]["synchronized"] == own["synchronized"]
        # Both clocks were read while the run ran, right after it started.
        read_at = parse_timestamp(merged[side]["time"])
        assert 0 <= (read_at - started).total_seconds() < 10
    difference = parse_duration(merged["difference"]).total_seconds()
    assert 0 <= difference < 2.0
    assert text.startswith("Local:") and "Remote:" in text and "Difference" in text
    assert merged["difference"] in text and merged["difference"] in html


def test_dns_against_a_local_server(node, posted, dns_server):
    resolver, _ = dns_server
    run, text, html = measured(node, posted["dns"])
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True
    assert sorted(merged["record"]) == ["192.0.2.77", "192.0.2.78"]
    assert "e2e.example.test. A" in resolver.asked
    assert parse_duration(merged["time"]).total_seconds() < 5
    assert re.search(r"^A \.+ 192\.0\.2\.77$", text, re.M)
    assert re.search(r"^A \.+ 192\.0\.2\.78$", text, re.M)
    assert "192.0.2.77" in html


def test_http_against_a_local_server(node, posted):
    run, text, html = measured(node, posted["http"])
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True
    assert "/e2e-page" in Page.seen
    assert merged["status"] == 203 and merged["found"] is True
    assert merged["headers"]["X-E2E"] == "yes"
    assert merged["content"] == "<html>pscheduler end-to-end page</html>"
    assert "Status Code ..... 203" in text and "String Found .... True" in text
    assert text.startswith(f"Response Time ... {merged['time']}")
    assert "203" in html


def test_throughput_loopback_on_its_own_node(make_node):
    require_program("iperf3")
    fresh = make_node()
    task = {
        "test": {
            "type": "throughput",
            "spec": {"schema": 5, "dest": "127.0.0.1", "loopback": True, "duration": "PT2S"},
        },
        "schedule": {},
    }
    run, text, _ = measured(fresh, fresh.post("tasks", json=task))
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True
    summary = merged["summary"]["summary"]
    assert summary["throughput-bits"] > 1e6
    assert summary["end"] == pytest.approx(2.0, abs=0.5)
    assert len(merged["intervals"]) >= 2
    assert "iperf3" in merged["diags"] and "-c 127.0.0.1" in merged["diags"]
    assert "Summary" in text and "Interval" in text and "bps" in text


def test_tool_whose_program_is_missing_fails_task_creation(node):
    if subprocess.run(["which", "owping"], capture_output=True).returncode == 0:
        pytest.skip("owping is installed here")
    task = {
        "test": {"type": "latency", "spec": {"dest": "127.0.0.1"}},
        "tools": ["owping"],
        "schedule": {},
    }
    report = post_task(node, task, expect=422)
    assert "owping" in report and "owping is not installed" in report


def ping_processes(dest: str) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True)
    return [
        line
        for line in ps.stdout.splitlines()[1:]
        if re.search(r"\bping6?\b", line) and line.rstrip().endswith(dest)
    ]


def test_cancel_kills_the_running_ping(node):
    require_program("ping")
    assert not ping_processes(CANCEL_DEST), "a ping to the cancel address is already running"
    url = post_task(node, rtt_task(CANCEL_DEST, count=30, interval="PT1S"))
    wait_for(lambda: ping_processes(CANCEL_DEST), timeout=30, interval=0.1, what="ping to start")
    run = node.session.get(url + "/runs/first", timeout=15).json()
    assert run["state"] == "running"
    began = time.monotonic()
    assert node.session.delete(url, timeout=15).status_code == 200
    wait_for(lambda: not ping_processes(CANCEL_DEST), timeout=15, interval=0.05, what="ping gone")
    assert time.monotonic() - began < 10
    final = wait_for(
        lambda: (r := node.session.get(run["href"], timeout=15).json())["state"] != "running" and r,
        timeout=20,
        what="run to leave running",
    )
    assert final["state"] == "canceled", final
    with contextlib.suppress(Exception):
        node.session.delete(url, timeout=5)
