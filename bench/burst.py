"""The start burst: N repeating idle tasks posted together, as a configuration agent does.

Starts its own node, posts ``--tasks`` idle tasks (``repeat PT1M, slip PT5M``) from a few
concurrent clients, then prints: tasks posted per second and POST p50/p99; seconds until the
whole horizon is placed; runner start lateness (the run's ``started`` minus its start time)
p50/p99/max over the first burst and over the following ``--minutes``; runs missed, overdue
and failed; CPU% of every process while nothing is due; RSS of every process at the start
and at the end.

Usage: .venv/bin/python bench/burst.py [--tasks 1000] [--minutes 3] [--clients 8]
Goals (issue 14): lateness p99 < 100 ms steady and < 1 s in the burst; 0 missed, overdue or
failed; < 2 % CPU per process when idle; RSS flat.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import psycopg2.extras
from _node import BenchNode, percentile, request

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def task_body(duration: str, start: dt.datetime | None = None) -> bytes:
    schedule = {"repeat": "PT1M", "slip": "PT5M"}
    if start is not None:
        schedule["start"] = start.isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"test": {"type": "idle", "spec": {"duration": duration}}, "schedule": schedule}
    ).encode()


def watch_threads(pid: int, until: float) -> int:
    """The most threads ``pid`` had at once, sampled every 50 ms until ``until`` (monotonic)."""
    most = 0
    while time.monotonic() < until:
        try:
            status = (Path("/proc") / str(pid) / "status").read_text()
        except OSError:
            break
        most = max(most, int(status.split("Threads:")[1].split()[0]))
        time.sleep(0.05)
    return most


def processes(node: BenchNode) -> dict[int, str]:
    """The node's processes by pid: the supervisor's tree (API workers, daemons) and the
    embedded PostgreSQL's (the postmaster and its backends)."""
    parents: dict[int, int] = {}
    roots = [node.proc.pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                argv = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            if b"postgres" in argv and node.state.encode() in argv:
                roots.append(int(entry.name))
    found: dict[int, str] = {}
    todo = roots
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        try:
            argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        found[pid] = name_of([a.decode(errors="replace") for a in argv if a])
        todo += [child for child, parent in parents.items() if parent == pid]
    return found


def name_of(argv: list[str]) -> str:
    text = " ".join(argv)
    if text.startswith("postgres:"):
        return text[:60]
    for word in ("scheduler", "runner", "archiver", "ticker", "psconfig", "gunicorn", "api"):
        if word in argv[1:] or any(a.endswith(word) for a in argv[1:]):
            return word
    return Path(argv[0]).name if argv else "?"


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float | None:
    try:
        return int((Path("/proc") / str(pid) / "statm").read_text().split()[1]) * PAGE / 2**20
    except OSError:
        return None


def rss_table(procs: dict[int, str]) -> dict[int, float]:
    return {pid: rss for pid in procs if (rss := rss_mb(pid)) is not None}


def db_rows(dsn: str, text: str, params=None) -> list[dict]:
    with (
        psycopg2.connect(dsn) as conn,
        conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur,
    ):
        cur.execute(text, params)
        rows = cur.fetchall()
    conn.close()
    return rows


def lateness_line(name: str, values_ms: list[float], goal: str) -> str:
    if not values_ms:
        return f"{name:<28} no run started"
    return (
        f"{name:<28} n={len(values_ms):<6} p50={percentile(values_ms, 50):8.1f} ms  "
        f"p99={percentile(values_ms, 99):8.1f} ms  max={max(values_ms):8.1f} ms  {goal}"
    )


def row_line(label: str, cpu, pids: list[int], rss_start: dict, rss_end: dict) -> str:
    """CPU%: the busiest of ``pids``; RSS: the largest (backends share most of theirs)."""
    usage = max((cpu[p] for p in pids if cpu and p in cpu), default=None)
    start = max((rss_start[p] for p in pids if p in rss_start), default=None)
    end = max((rss_end[p] for p in pids if p in rss_end), default=None)
    return (
        f"{label:<40} {(f'{usage:.2f}' if usage is not None else '-'):>9} "
        f"{(f'{start:.0f} MB' if start else '-'):>10} {(f'{end:.0f} MB' if end else '-'):>9}"
    )


def post_all(host: str, count: int, clients: int, body: bytes) -> tuple[list[float], float]:
    def one(_):
        began = time.monotonic()
        status, text = request("POST", host, "/pscheduler/tasks", body)
        if status != 200:
            raise SystemExit(f"POST /tasks: {status} {text[:200]!r}")
        return (time.monotonic() - began) * 1000

    began = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(one, range(count)))
    return latencies, time.monotonic() - began


def wait_horizon(dsn: str, began: float, limit: float) -> float | None:
    """Seconds from the first POST until no task has runs left to place within the horizon."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        left = db_rows(
            dsn,
            "SELECT count(*) AS n FROM task t CROSS JOIN configurables c "
            "WHERE t.enabled AND t.next_ideal <= now() + c.schedule_horizon - t.slip",
        )[0]["n"]
        if left == 0:
            return time.monotonic() - began
        time.sleep(0.5)
    return None


def idle_cpu(dsn: str, procs: dict[int, str], window: float) -> dict[int, float] | None:
    """CPU% of every process over ``window`` seconds in which no run is due (between bursts)."""
    deadline = time.monotonic() + 130
    while time.monotonic() < deadline:
        row = db_rows(
            dsn,
            "SELECT extract(epoch FROM min(lower(times)) - now()) AS until_next, "
            "count(*) FILTER (WHERE state = 'running') AS running "
            "FROM run WHERE state IN ('pending', 'on-deck', 'running')",
        )[0]
        until_next = float(row["until_next"] if row["until_next"] is not None else 1e9)
        if until_next > window + 8 and not row["running"]:
            time.sleep(3)  # the end of the last burst: archiving, scheduling
            before = {pid: cpu_seconds(pid) for pid in procs}
            began = time.monotonic()
            time.sleep(window)
            elapsed = time.monotonic() - began
            after = {pid: cpu_seconds(pid) for pid in procs}
            return {
                pid: 100 * (after[pid] - before[pid]) / elapsed
                for pid in procs
                if before[pid] is not None and after[pid] is not None
            }
        time.sleep(max(0.5, until_next + 5) if until_next > 0 else 1.0)
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000, help="tasks posted together")
    parser.add_argument("--minutes", type=int, default=3, help="minutes measured after the burst")
    parser.add_argument("--clients", type=int, default=8, help="concurrent POST clients")
    parser.add_argument("--duration", default="PT1S", help="each idle run's duration")
    parser.add_argument(
        "--start-in",
        type=float,
        help="give every task the same explicit start, this many seconds after the first POST "
        "(default: none, so each task's first run is due when it is posted)",
    )
    parser.add_argument(
        "--horizon-wait", type=float, default=600, help="seconds to wait for the whole horizon"
    )
    args = parser.parse_args()
    node = BenchNode()
    try:
        procs = processes(node)
        rss_start = rss_table(procs)
        t0 = dt.datetime.now(dt.timezone.utc)
        began = time.monotonic()
        start = None
        if args.start_in is not None:
            start = (t0 + dt.timedelta(seconds=args.start_in)).replace(microsecond=0)
        latencies, took = post_all(
            node.host, args.tasks, args.clients, task_body(args.duration, start)
        )
        print(
            f"{args.tasks} tasks posted in {took:.1f} s ({args.tasks / took:.0f} tasks/s); "
            f"POST p50={percentile(latencies, 50):.0f} ms  p99={percentile(latencies, 99):.0f} ms"
        )
        if start is not None:
            runner = next(pid for pid, name in procs.items() if name == "runner")
            burst_end = (start - dt.datetime.now(dt.timezone.utc)).total_seconds() + 15
            most = watch_threads(runner, time.monotonic() + max(0.0, burst_end))
            print(f"all first runs due at {start:%H:%M:%S}; runner threads at most {most}")
        horizon = wait_horizon(node.dsn, began, limit=args.horizon_wait)
        placed = db_rows(node.dsn, "SELECT count(*) AS n FROM run")[0]["n"]
        print(
            f"horizon placed ({placed} runs) "
            + (
                f"{horizon:.1f} s after the first POST"
                if horizon
                else f"NOT within {args.horizon_wait:.0f} s"
            )
        )
        end = t0 + dt.timedelta(minutes=args.minutes, seconds=took + 10)
        time.sleep(max(0.0, (end - dt.datetime.now(dt.timezone.utc)).total_seconds()))
        procs = processes(node)  # with the connections opened since
        cpu = idle_cpu(node.dsn, procs, window=10.0)
        time.sleep(3)
        rows = db_rows(
            node.dsn,
            "SELECT r.task, lower(r.times) AS start, r.started, r.state, "
            "row_number() OVER (PARTITION BY r.task ORDER BY lower(r.times)) AS nth "
            "FROM run r WHERE lower(r.times) >= %s AND lower(r.times) < %s",
            (t0, end),
        )
        burst = [
            (r["started"] - r["start"]).total_seconds() * 1000
            for r in rows
            if r["nth"] == 1 and r["started"]
        ]
        steady = [
            (r["started"] - r["start"]).total_seconds() * 1000
            for r in rows
            if r["nth"] > 1 and r["started"]
        ]
        print(lateness_line("lateness, first burst", burst, "(goal: p99 < 1000 ms)"))
        print(lateness_line(f"lateness, next {args.minutes} min", steady, "(goal: p99 < 100 ms)"))
        states: dict[str, int] = {}
        for r in rows:
            states[r["state"]] = states.get(r["state"], 0) + 1
        print(
            f"runs in the window: {len(rows)}; missed={states.get('missed', 0)} "
            f"overdue={states.get('overdue', 0)} failed={states.get('failed', 0)} "
            f"(all states: {dict(sorted(states.items()))})"
        )
        for row in db_rows(
            node.dsn,
            "SELECT coalesce(errors, '-') AS why, count(*) AS n FROM run "
            "WHERE state = 'failed' AND lower(times) >= %s AND lower(times) < %s "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
            (t0, end),
        ):
            print(f"  failed: {row['n']} x {row['why'][:100]}")
        rss_end = rss_table(procs)
        print(f"{'process':<40} {'idle CPU%':>9} {'RSS start':>10} {'RSS end':>9}")
        backends = [pid for pid, name in procs.items() if name.startswith("postgres: postgres")]
        for pid, name in sorted(procs.items(), key=lambda p: p[1]):
            if pid in backends:
                continue
            print(row_line(f"{name[:30]} [{pid}]", cpu, [pid], rss_start, rss_end))
        print(
            row_line(f"postgres backends ({len(backends)}, max)", cpu, backends, rss_start, rss_end)
        )
        if cpu is None:
            print("(no idle window of 10 s found for the CPU figures)")
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        node.close()


if __name__ == "__main__":
    main()
