"""A node at mesh scale (issue 14): many repeating tasks, a busy API, idle and stream clients.

    .venv/bin/python bench/scale.py [--tasks 1000] [--minutes 10] [--rate 200]
                                    [--load-minutes 5] [--idle 500] [--streams 500]
                                    [--rounds 1]

Starts its own node, then prints, phase by phase:
 1. tasks posted per second and POST p50/p99 for --tasks idle tasks repeating every minute;
 2. seconds until every task's horizon is placed;
 3. runner start lateness p50/p99/max of the runs due in the first --minutes (burst included),
    and runs missed, overdue and failed;
 4. API p50/p99 per endpoint under --rate requests/s for --load-minutes (keep-alive clients,
    open loop), errors, and the lateness of the runs due meanwhile;
 5. the same with --idle idle TCP connections and --streams event-stream clients open (the
    stream readers at --readers-nice, 19 by default: they stand in for clients elsewhere);
 6. memory (PSS) of every process of the node at the start, once it has done each kind of work
    (after phase 4a, 50 requests to each endpoint: a fresh process grows to its working size
    on its first requests of each kind), after phase 4 and after each of --rounds rounds of
    phase 5, once the node's processes are steady and every endpoint was served again (growth
    in the first round only is a working size, growth in every round a leak).
Every phase has a deadline; a global alarm stops the node and exits if anything hangs.
Figures to reach (2 cores): lateness p99 < 1 s in the burst, < 100 ms after; API p99 < 100 ms
per endpoint, 0 errors; RSS flat within 10%.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
from _load import WINDOW, idle_connections, request_mix, stream_clients
from _node import BenchNode, percentile, request

REPEATING = {
    "schema": 1,
    "test": {"type": "idle", "spec": {"schema": 1, "duration": "PT1S"}},
    "schedule": {"repeat": "PT1M", "slip": "PT5M"},
}
ONE_LATER = {
    "test": {"type": "idle", "spec": {"duration": "PT1S"}},
    "schedule": {"start": "PT2H"},
}


def node_pids(node: BenchNode) -> dict[int, bytes]:
    """Every process of the node, with its command line: the supervisor's session, the
    embedded PostgreSQL (a session of its own) and its backends."""
    procs: dict[int, tuple[int, int, bytes]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            procs[int(pid)] = (
                int(fields[1]),
                int(fields[3]),
                Path(f"/proc/{pid}/cmdline").read_bytes(),
            )
        except (OSError, IndexError, ValueError):
            continue
    state = node.state.encode()
    masters = {pid for pid, (_, _, cmd) in procs.items() if state in cmd and b"postgres" in cmd}
    return {
        pid: cmd
        for pid, (ppid, sid, cmd) in procs.items()
        if sid == node.proc.pid or pid in masters or ppid in masters
    }


def rss(node: BenchNode) -> dict[str, int]:
    """Memory in kB of every process in the node's session, by name (postgres ones summed).

    PSS, not RSS: PostgreSQL's backends all map the same shared buffers, and a sum of their
    RSS counts those pages once per backend that touched them."""
    out: dict[str, int] = {}
    for pid, raw in node_pids(node).items():
        cmd = raw.split(b"\0")
        try:
            status = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        kb = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("Pss:")), 0)
        name = Path(cmd[0].decode() or "?").name
        if name.startswith("postgres"):
            name = "postgres (all)"
        elif "pscheduler-server" in name or name.startswith("python"):
            args = [a.decode() for a in cmd[1:] if a and not a.startswith(b"-")]
            name = f"server {args[-1] if args else ''}".strip()
        elif name.startswith("pscheduler-api") or "gunicorn" in " ".join(map(str, cmd)):
            name = "api"
        key = name
        n = 1
        while key in out and not name.startswith("postgres"):
            n += 1
            key = f"{name} #{n}"
        out[key] = out.get(key, 0) + kb if name.startswith("postgres") else kb
    return out


def pct(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"n={len(values):<6} p50={percentile(values, 50):9.1f} ms  "
        f"p99={percentile(values, 99):9.1f} ms  max={max(values):9.1f} ms"
    )


def post_tasks(
    host: str, count: int, threads: int = 8, task: dict | None = None
) -> tuple[list[str], list[float], float]:
    """``count`` copies of ``task`` (REPEATING by default) from ``threads`` clients: their
    URLs, each POST's milliseconds and the seconds it all took."""
    body = json.dumps(task or REPEATING).encode()
    times: list[float] = []
    lock = threading.Lock()

    def one(_: int) -> str:
        began = time.perf_counter()
        status, data = request("POST", host, "/pscheduler/tasks", body)
        with lock:
            times.append((time.perf_counter() - began) * 1000)
        if status != 200:
            raise SystemExit(f"POST /tasks: {status} {data[:200]!r}")
        return json.loads(data)

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        urls = list(pool.map(one, range(count), timeout=600))
    return urls, times, time.perf_counter() - began


def wait_placed(dsn: str, timeout: float) -> float | None:
    """Seconds until no enabled task has a run left to place within its horizon (less a
    minute, which the horizon moves meanwhile); None past ``timeout``."""
    began = time.monotonic()
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        while time.monotonic() - began < timeout:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM task t CROSS JOIN configurables c WHERE t.enabled"
                    " AND t.next_ideal <= now() + c.schedule_horizon - t.slip - interval '1 min'"
                )
                if cur.fetchone()[0] == 0:
                    return time.monotonic() - began
            time.sleep(0.5)
    finally:
        conn.close()
    return None


def lateness(dsn: str, start: float, end: float) -> dict:
    """Start lateness and end states of the runs due in [start, end) (epoch seconds)."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT extract(epoch FROM started - lower(times)) * 1000 FROM run"
                " WHERE lower(times) >= to_timestamp(%s) AND lower(times) < to_timestamp(%s)"
                " AND started IS NOT NULL",
                (start, end),
            )
            late = [row[0] for row in cur.fetchall()]
            cur.execute(
                "SELECT state, count(*) FROM run WHERE lower(times) >= to_timestamp(%s)"
                " AND lower(times) < to_timestamp(%s) GROUP BY state",
                (start, end),
            )
            states = dict(cur.fetchall())
            cur.execute("SELECT count(*) FROM run")
            total = cur.fetchone()[0]
    finally:
        conn.close()
    return {"late": late, "states": states, "total": total}


def print_lateness(title: str, figures: dict) -> None:
    s = figures["states"]
    print(f"{title}: start lateness {pct(figures['late'])}")
    print(
        f"    runs due: {sum(s.values())}; missed {s.get('missed', 0)}, overdue"
        f" {s.get('overdue', 0)}, failed {s.get('failed', 0)}; states {s};"
        f" runs in table {figures['total']}"
    )


DAEMONS = ("runner", "scheduler", "ticker", "archiver")


def cpu_ticks(path: str) -> int | None:
    """User and system clock ticks used by ``/proc/<path>`` (a process, or ``pid/task/tid``
    for one thread); None once it has gone."""
    try:
        fields = Path(f"/proc/{path}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return None


def cpu_by_process(node: BenchNode, by_daemon: bool = False) -> dict[int, tuple[str, float]]:
    """Each of the node's processes: its group (API, PostgreSQL, the rest or, with
    ``by_daemon``, each daemon apart) and the CPU seconds it used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid, cmd in node_pids(node).items():
        ticks = cpu_ticks(str(pid))
        if ticks is None:
            continue
        group = "postgres" if b"postgres" in cmd.split(b"\0")[0] else "daemons"
        if b"server\0api" in cmd or b"pscheduler-api" in cmd:
            group = "api"
        elif by_daemon and group == "daemons":
            group = next((d for d in DAEMONS if f"server\0{d}".encode() in cmd), "daemons")
        out[pid] = (group, ticks / tick)
    return out


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per group between two ``cpu_by_process`` readings, process by process: a
    backend that exited in between is left out (a sum of totals went negative with it)."""
    out = {"api": 0.0, "postgres": 0.0, "daemons": 0.0}
    for pid, (group, used) in after.items():
        out[group] = out.get(group, 0.0) + used - before.get(pid, (group, 0.0))[1]
    return out


def machine_ticks() -> dict[str, int]:
    """The machine's idle time and the time its hypervisor gave its cores to others (steal),
    in clock ticks summed over the cores (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return {"machine idle": int(fields[4]), "machine steal": int(fields[8])}


def cpu_windows(node: BenchNode, stop: threading.Event, out: list) -> None:
    """Per WINDOW seconds, the share of one core each part of the node used (where the time
    of a latency stall went), and the machine's idle and stolen time: on a virtual machine a
    stall with little idle left may be a neighbour's doing."""
    tick = os.sysconf("SC_CLK_TCK")
    before, machine = cpu_by_process(node, by_daemon=True), machine_ticks()
    while not stop.wait(WINDOW):
        now, machine_now = cpu_by_process(node, by_daemon=True), machine_ticks()
        window = {k: v * 100 / WINDOW for k, v in cpu_used(before, now).items()}
        for k, v in machine_now.items():
            window[k] = (v - machine[k]) * 100 / tick / WINDOW
        out.append(window)
        before, machine = now, machine_now


def print_cpu_windows(windows: list[dict]) -> None:
    if not windows:
        return
    print(
        f"    CPU % of a core per {WINDOW} s (API, PostgreSQL, each daemon; load generator apart;"
        " the machine's idle and stolen time, all cores):"
    )
    for name in sorted({k for w in windows for k in w}):
        print(f"      {name:<10}" + " ".join(f"{w.get(name, 0):5.0f}" for w in windows))


def cost_per_request(node: BenchNode, endpoints, n: int) -> None:
    """Sequential requests on one keep-alive connection: wall time and the CPU each costs the
    API and PostgreSQL, a figure that does not depend on how loaded the machine is."""
    import http.client
    import ssl

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for label, method, path, body in endpoints:
        conn = http.client.HTTPSConnection(node.host, context=ctx, timeout=60)
        walls = []
        before = cpu_by_process(node)
        for _ in range(n):
            began = time.perf_counter()
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            walls.append((time.perf_counter() - began) * 1000)
        used = cpu_used(before, cpu_by_process(node))
        conn.close()
        api, pg = used["api"] * 1000 / n, used["postgres"] * 1000 / n
        print(
            f"    {label:<28} wall p50={percentile(walls, 50):8.1f} ms   CPU per request:"
            f" API {api:6.2f} ms, PostgreSQL {pg:6.2f} ms"
        )


def settle(node: BenchNode, endpoints, timeout: float = 60) -> None:
    """Before memory is measured after a round: wait (bounded) until the node's processes
    stay the same for 5 s (a worker the round left bigger hands over to a fresh one,
    pscheduler/toolkit/heap.py), then have every endpoint served on fresh connections, so a
    fresh worker is measured at its working size, as every process is after phase 4a."""
    deadline = time.monotonic() + timeout
    pids, since = set(node_pids(node)), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < 5:
        time.sleep(0.5)
        now = set(node_pids(node))
        if now != pids:
            pids, since = now, time.monotonic()
    for label, method, path, body in endpoints * 10:
        status, _ = request(method, node.host, path, body)
        if status >= 400:
            print(f"    after the round: {label} answered {status}")


def api_phase(node: BenchNode, args, endpoints, title: str) -> int:
    host, dsn = node.host, node.dsn
    out: multiprocessing.Queue = multiprocessing.Queue()
    seconds = args.load_minutes * 60
    began = time.time()
    proc = multiprocessing.Process(
        target=request_mix, args=(host, args.rate, seconds, endpoints, args.clients, out)
    )
    proc.start()
    stop, cpu = threading.Event(), []
    sampler = threading.Thread(target=cpu_windows, args=(node, stop, cpu), daemon=True)
    sampler.start()
    try:
        latencies, errors, offered, samples, windows = out.get(timeout=seconds + 90)
    except Exception:  # noqa: BLE001 - a hung phase is reported, not waited for
        print(f"{title}: no result within {seconds + 90:.0f} s")
        proc.kill()
        return 1
    finally:
        stop.set()
    proc.join(10)
    served = sum(len(v) for v in latencies.values())
    unanswered = offered - served - sum(errors.values())
    print(
        f"{title}: offered {offered} requests ({args.rate}/s), {served} answered 2xx/3xx,"
        f" {unanswered} not answered by the end of the phase (+30 s)"
    )
    for label, *_ in endpoints:
        print(f"    {label:<28} {pct(latencies.get(label, []))}  errors={errors.get(label, 0)}")
    for label, text in samples.items():
        print(f"    first error of {label}: {text}")
    print(f"    p99 ms per {WINDOW} s: " + " ".join(f"{w:.0f}" for w in windows))
    print_cpu_windows(cpu)
    print_lateness("    lateness of runs due meanwhile", lateness(dsn, began + 5, time.time()))
    return sum(errors.values()) + unanswered


def clients_phase(node: BenchNode, args, endpoints: list, title: str) -> int:
    """Phase 5: the API load with ``args.idle`` idle connections and ``args.streams`` event
    streams open; they all leave at its end.  Returns the errors."""
    errors = 0
    stop = multiprocessing.Event()
    ready = multiprocessing.Event()
    idle_out: multiprocessing.Queue = multiprocessing.Queue()
    stream_out: multiprocessing.Queue = multiprocessing.Queue()
    holders = [
        multiprocessing.Process(
            target=idle_connections, args=(node.host, args.idle, stop, idle_out)
        ),
        multiprocessing.Process(
            target=stream_clients,
            args=(
                node.host,
                args.streams,
                stop,
                ready,
                stream_out,
                args.readers_nice,
                not args.readers_plain,
            ),
        ),
    ]
    for p in holders:
        p.start()
    ready.wait(90)
    errors += api_phase(node, args, endpoints, title)
    stop.set()
    try:
        opened, closed = idle_out.get(timeout=30)
        statuses, events, ended, received, text = stream_out.get(timeout=30)
        print(f"    idle: {opened} opened, {closed} closed by the server")
        print(
            f"    streams: answers {statuses}, {events} events read, {ended} ended early;"
            f" {received / 1e6:.0f} MB received for {text / 1e6:.0f} MB of text"
        )
        errors += sum(n for status, n in statuses.items() if status != 200) + ended
    except Exception:  # noqa: BLE001
        print("    idle/stream holders did not report")
        errors += 1
    for p in holders:
        p.join(10)
        if p.is_alive():
            p.kill()
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10, help="lateness phase length")
    parser.add_argument("--rate", type=float, default=200, help="requests/s offered")
    parser.add_argument("--load-minutes", type=float, default=5)
    parser.add_argument("--clients", type=int, default=32, help="keep-alive client connections")
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument(
        "--readers-nice",
        type=int,
        default=19,
        help="CPU niceness of the stream readers, which stand in for remote clients (0: at "
        "the node's priority, competing with it for these cores)",
    )
    parser.add_argument(
        "--readers-plain",
        action="store_true",
        help="stream readers do not ask for gzip (browsers, requests and curl --compressed do)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="times phase 5 is run (clients arrive, load, clients leave): memory that grows "
        "only in the first is the node's working size, memory that grows in every one a leak",
    )
    parser.add_argument("--placement-timeout", type=float, default=900)
    parser.add_argument("--cost-requests", type=int, default=50)
    args = parser.parse_args()

    budget = (
        900 + args.placement_timeout + 60 * (args.minutes + (1 + args.rounds) * args.load_minutes)
    ) + 600 * args.rounds
    node = BenchNode()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("bench budget")))
    signal.alarm(int(budget))
    errors = 0
    try:
        print(f"load: {os.getloadavg()}; node on {node.host}; budget {budget:.0f} s")
        rss_start = rss(node)
        t0 = time.time()
        urls, post_ms, took = post_tasks(node.host, args.tasks)
        print(
            f"1. posted {len(urls)} tasks in {took:.1f} s ({len(urls) / took:.0f}/s):"
            f" POST {pct(post_ms)}"
        )
        placed = wait_placed(node.dsn, args.placement_timeout)
        placed_txt = f"{placed + took:.1f} s" if placed is not None else "not within timeout"
        print(f"2. horizon placed {placed_txt} after the first POST")
        remaining = t0 + args.minutes * 60 - time.time()
        if remaining > 0:
            time.sleep(remaining)
        print_lateness(
            f"3. first {args.minutes:g} min", lateness(node.dsn, t0, t0 + args.minutes * 60 - 30)
        )
        task = urls[0].split("/pscheduler", 1)[1]
        endpoints = [
            ("GET /api", "GET", "/pscheduler/api", None),
            ("GET task?detail", "GET", f"/pscheduler{task}?detail", None),
            ("GET task/runs/first", "GET", f"/pscheduler{task}/runs/first", None),
            ("GET /tasks", "GET", "/pscheduler/tasks", None),
            ("POST /tasks", "POST", "/pscheduler/tasks", json.dumps(ONE_LATER).encode()),
            ("GET /status", "GET", "/pscheduler/status", None),
            ("GET /metrics", "GET", "/pscheduler/metrics", None),
        ]
        print(f"4a. cost of each endpoint ({args.cost_requests} sequential requests each):")
        cost_per_request(node, endpoints, args.cost_requests)
        rss_warm = rss(node)  # every process has done its work once: placed, run, served
        errors += api_phase(node, args, endpoints, "4. API")
        rss_loaded = rss(node)

        rss_rounds = []
        for round_ in range(1, args.rounds + 1):
            title = f"5. API with {args.idle} idle connections and {args.streams} streams"
            if args.rounds > 1:
                title += f" (round {round_} of {args.rounds})"
            errors += clients_phase(node, args, endpoints, title)
            settle(node, endpoints)
            rss_rounds.append(rss(node))
        rss_end = rss_rounds[-1]
        print(
            "6. memory (PSS) kB: start -> after phase 4a -> after phase 4 -> after each round"
            " of phase 5 (change from phase 4a to the end):"
        )
        for name in sorted(set(rss_start) | set(rss_warm) | set(rss_end)):
            w, b = rss_warm.get(name, 0), rss_end.get(name, 0)
            figures = [rss_start, rss_warm, rss_loaded, *rss_rounds]
            change = f"{(b - w) * 100 / w:+.0f}%" if w else ""
            print(
                f"    {name:<28} "
                + " -> ".join(f"{f.get(name, 0):>9}" for f in figures)
                + f" {change}"
            )
        log = (Path(node.state) / "node.log").read_text(errors="replace")
        handed = [line for line in log.splitlines() if "hands over to a fresh one" in line]
        print(f"    API workers handed over to fresh ones: {len(handed)}")
        for line in handed:
            print("      " + line.split("] ", 1)[-1])
        print(f"errors: {errors}; load: {os.getloadavg()}")
    except TimeoutError:
        print("bench budget exceeded: stopping")
        errors += 1
    finally:
        signal.alarm(0)
        node.close()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
