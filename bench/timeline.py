"""What the machine does, quarter second by quarter second, around a node's next burst of runs.

    .venv/bin/python bench/timeline.py --host 127.0.0.1:8443 --dsn DSN [--seconds 12]
                                       [--interval 0.25] [--at EPOCH]

Attaches to a running node (a bench's, say), waits until 3 s before the next second in which
the most runs start (or --at), then prints for each --interval the CPU % of a core used by
the API workers, each daemon, PostgreSQL's backends by application name, and every other
process (load generators, stream readers), with the slowest answer (ms) of a GET /status
probe sent every 20 ms; last, the API workers' busiest threads over the window, named.
Ten-second averages (scale.py) hide a burst that saturates both cores for a second; this
shows who took them (how the stream readers' share was found, issue 14).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import os
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
from scale import DAEMONS, cpu_ticks

TICK = os.sysconf("SC_CLK_TCK")
PY_SPY = Path(sys.executable).parent / "py-spy"


def category(pid: int, app_names: dict[int, str]) -> str:
    try:
        cmd = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return "gone"
    for part in ("api", *DAEMONS):
        if f"pscheduler.server {part}" in cmd:
            return part
    if cmd.startswith("postgres"):
        name = app_names.get(pid, "")
        return "pg:" + (name.removeprefix("pscheduler-") or "other")
    return "other"


def next_burst(conn) -> float:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT extract(epoch FROM date_trunc('second', lower(times))), count(*) FROM run"
            " WHERE lower(times) > now() + interval '4 s' AND lower(times) < now() + interval '2 min'"
            " GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        )
        row = cur.fetchone()
    if row is None:
        raise SystemExit("no run starts within two minutes")
    print(f"burst: {row[1]} runs start at {time.strftime('%H:%M:%S', time.gmtime(float(row[0])))}")
    return float(row[0])


def probe(host: str, stop: threading.Event, out: list) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(host, context=ctx, timeout=30)
    while not stop.is_set():
        began = time.time()
        conn.request("GET", "/pscheduler/status")
        conn.getresponse().read()
        out.append((began, (time.time() - began) * 1000))
        stop.wait(0.02)


def api_threads() -> dict[tuple[int, int], int]:
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if category(int(pid), {}) != "api":
            continue
        for tid in os.listdir(f"/proc/{pid}/task"):
            ticks = cpu_ticks(f"{pid}/task/{tid}")
            if ticks is not None:
                found[(int(pid), int(tid))] = ticks
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="the node's HOST:PORT")
    parser.add_argument("--dsn", required=True, help="the node's database")
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--at", type=float, help="epoch second to centre on (default: next burst)")
    args = parser.parse_args()

    conn = psycopg2.connect(args.dsn)
    conn.autocommit = True
    start = (args.at or next_burst(conn)) - 3
    time.sleep(max(0.0, start - time.time()))

    def app_names() -> dict[int, str]:
        with conn.cursor() as cur:
            cur.execute("SELECT pid, coalesce(application_name, '') FROM pg_stat_activity")
            return dict(cur.fetchall())

    stop, answers = threading.Event(), []
    threading.Thread(target=probe, args=(args.host, stop, answers), daemon=True).start()
    threads_before = api_threads()
    names, named_at = app_names(), time.time()
    last: dict[int, tuple[str, int]] = {}
    rows = []
    began = time.time()
    while time.time() - began < args.seconds:
        now = time.time()
        if now - named_at > 1:
            names, named_at = app_names(), now
        used: collections.Counter = collections.Counter()
        for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
            ticks = cpu_ticks(str(pid))
            if ticks is None:
                continue
            kind, before = last.get(pid) or (category(pid, names), ticks)
            used[kind] += ticks - before
            last[pid] = (kind, ticks)
        rows.append((now, used))
        time.sleep(max(0.0, args.interval - (time.time() - now)))
    stop.set()
    threads_after = api_threads()

    kinds = sorted({k for _, used in rows for k in used if k != "gone"})
    widths = [max(4, len(k)) for k in kinds]
    print("    t " + " ".join(f"{k:>{w}}" for k, w in zip(kinds, widths, strict=True)) + "  probe")
    for (t0, _), (t1, used) in zip(rows, rows[1:], strict=False):
        slowest = max((ms for at, ms in answers if t0 <= at < t1), default=0)
        cpu = " ".join(
            f"{used[k] * 100 / TICK / (t1 - t0):{w}.0f}" for k, w in zip(kinds, widths, strict=True)
        )
        print(f"{t1 - began:5.2f} {cpu}  {slowest:5.0f}")
    busiest = sorted(
        ((ticks - threads_before.get(key, 0), key) for key, ticks in threads_after.items()),
        reverse=True,
    )[:6]
    dumps = {}
    for _, (pid, _tid) in busiest:
        if pid not in dumps and PY_SPY.exists():
            dumps[pid] = subprocess.run(
                [str(PY_SPY), "dump", "-p", str(pid)], capture_output=True, text=True
            ).stdout
    print("busiest API threads over the window:")
    for ticks, (pid, tid) in busiest:
        line = next((x for x in dumps.get(pid, "").splitlines() if f"Thread {tid} " in x), "")
        name = line.split(":", 1)[1].strip() if ":" in line else "?"
        print(f"  {pid}/{tid} {name:<28} {ticks * 100 / TICK / args.seconds:5.0f} % of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
