"""API latency while many event streams carry a steady flow of events (issue 14, phase 5 alone).

    .venv/bin/python bench/streams.py [--streams 500] [--events 100] [--rate 200]
                                      [--load-minutes 1] [--rounds 2]
                                      [--burst 5000 --burst-every 30] [--tasks 1000]
                                      [--readers-nice 19] [--readers-plain]

Starts its own node, opens --streams clients on /events, appends --events events a second to
the node's event log (as the triggers of 1,000 tasks repeating every minute would), then
offers --rate requests/s of the scale bench's mix for --load-minutes and prints p50/p99 per
endpoint, p99 per 10 s, each part's CPU and the events the streams read; the streams then
leave, and the whole is done --rounds times, with each process's memory (PSS) after each
round.  It isolates the fan-out from the scheduler and the runner: no task runs, so whatever
the API spends beyond serving requests goes to the streams.  --burst adds that many events
every --burst-every seconds, over two seconds; --tasks instead posts that many idle tasks
starting together every minute, so the bursts are real runs (the daemons and PostgreSQL busy
too), as in the scale bench's phase 5 but in minutes, not a quarter of an hour.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import sys
import threading
import time
import uuid

import psycopg2
from _load import stream_clients
from _node import BenchNode
from scale import api_phase, post_tasks, rss

APPEND = (
    "SELECT event_append('run-state', %s, gen_random_uuid(), 'idle',"
    " jsonb_build_object('state', 'finished', 'pad', repeat('x', 200)))"
    " FROM generate_series(1, %s)"
)


def append_events(dsn: str, args, stop: threading.Event, count: list) -> None:
    """Append ``args.events`` run-state events a second, in 20 transactions a second, and
    every ``args.burst_every`` seconds a burst of ``args.burst`` more, spread over the
    ticks of two seconds (as 1,000 runs starting together make: claim, start,
    finish and merge, five events a run)."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    task = str(uuid.uuid4())
    per_tick = max(1, round(args.events / 20))
    burst_left, next_burst = 0, time.monotonic() + args.burst_every / 2
    with conn.cursor() as cur:
        while not stop.is_set():
            began = time.monotonic()
            if args.burst and began >= next_burst:
                burst_left, next_burst = args.burst, next_burst + args.burst_every
            extra = min(burst_left, max(1, args.burst // 40))  # 40 ticks: two seconds
            burst_left -= extra
            cur.execute(APPEND, (task, per_tick + extra))
            count[0] += per_tick + extra
            stop.wait(max(0.0, 0.05 - (time.monotonic() - began)))
    conn.close()


def post_bursting_tasks(node: BenchNode, count: int, minutes: float) -> None:
    """``count`` idle tasks repeating every minute from the same second, until ``minutes``
    from now: every minute the runner starts ``count`` runs together and the streams carry
    the real burst (five events a run, from the scheduler's, runner's and finisher's
    transactions), with the daemons and PostgreSQL busy beside the API."""
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=45)
    until = start + dt.timedelta(minutes=minutes)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    task = {
        "test": {"type": "idle", "spec": {"duration": "PT1S"}},
        "schedule": {
            "repeat": "PT1M",
            "slip": "PT5M",
            "start": stamp(start),
            "until": stamp(until),
        },
    }
    post_tasks(node.host, count, task=task)
    print(f"posted {count} tasks, the first burst at {stamp(start)}")


def one_round(node: BenchNode, args, round_: int) -> int:
    errors = 0
    stop_streams, ready = multiprocessing.Event(), multiprocessing.Event()
    stream_out: multiprocessing.Queue = multiprocessing.Queue()
    holder = multiprocessing.Process(
        target=stream_clients,
        args=(
            node.host,
            args.streams,
            stop_streams,
            ready,
            stream_out,
            args.readers_nice,
            not args.readers_plain,
        ),
    )
    holder.start()
    ready.wait(90)
    stop_events, appended = threading.Event(), [0]
    writer = threading.Thread(
        target=append_events, args=(node.dsn, args, stop_events, appended), daemon=True
    )
    writer.start()
    endpoints = [
        ("GET /api", "GET", "/pscheduler/api", None),
        ("GET /tasks", "GET", "/pscheduler/tasks", None),
        ("GET /status", "GET", "/pscheduler/status", None),
    ]
    title = f"Round {round_}: API with {args.streams} streams and {args.events:g} events/s"
    if args.burst:
        title += f", a burst of {args.burst} every {args.burst_every:g} s"
    began = time.monotonic()
    errors += api_phase(node, args, endpoints, title)
    stop_events.set()
    writer.join(10)
    took = time.monotonic() - began
    stop_streams.set()
    statuses, events, ended, received, text = stream_out.get(timeout=60)
    holder.join(10)
    print(
        f"    appended {appended[0]} events in {took:.0f} s; streams: answers {statuses},"
        f" {events} events read ({events / took:.0f}/s), {ended} ended early;"
        f" {received / 1e6:.0f} MB received for {text / 1e6:.0f} MB of text"
    )
    errors += sum(n for status, n in statuses.items() if status != 200) + ended
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument(
        "--tasks", type=int, default=0, help="idle tasks starting together every minute"
    )
    parser.add_argument("--events", type=float, default=100, help="events appended per second")
    parser.add_argument(
        "--burst", type=int, default=0, help="events in each burst (5,000: 1,000 runs)"
    )
    parser.add_argument("--burst-every", type=float, default=30, help="seconds between bursts")
    parser.add_argument("--rate", type=float, default=200, help="requests/s offered")
    parser.add_argument("--load-minutes", type=float, default=1)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--readers-nice",
        type=int,
        default=19,
        help="CPU niceness of the stream readers, which stand in for remote clients",
    )
    parser.add_argument(
        "--readers-plain",
        action="store_true",
        help="stream readers do not ask for gzip (browsers, requests and curl --compressed do)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="times the streams connect, carry the load and leave: memory that grows only in "
        "the first is the process's working size (threads, pools), memory that grows in every "
        "one is a leak",
    )
    args = parser.parse_args()

    node = BenchNode()
    errors = 0
    try:
        if args.tasks:
            post_bursting_tasks(node, args.tasks, args.rounds * (args.load_minutes + 1) + 2)
        before = rss(node)
        for round_ in range(1, args.rounds + 1):
            errors += one_round(node, args, round_)
            time.sleep(2)  # the writer closes the departed streams' sockets
            after = rss(node)
            print(f"    memory (PSS) kB before the first streams -> after round {round_}'s closed:")
            for name in sorted(set(before) | set(after)):
                a, b = before.get(name, 0), after.get(name, 0)
                print(f"      {name:<28} {a:>9} -> {b:>9} {(b - a) * 100 / a if a else 0:+.0f}%")
    finally:
        node.close()
    print(f"errors: {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
