"""``iperf2``: the throughput test with iperf 2 (``-y C`` comma-separated reports)."""

from __future__ import annotations

from pscheduler_plugins.common import enumeration, program_missing, unsupported_keys, verdict
from pscheduler_plugins.tools.iperf3 import setup_time
from pscheduler_plugins.tools.pairs import DEFAULT_DURATION, RETRY_FOR, Pair, seconds_of

from pscheduler.hookspecs import Tool, hookimpl

ALLOWED = {
    "schema", "source", "source-node", "dest", "dest-node", "duration", "interval", "parallel",
    "udp", "ip-version", "bandwidth", "buffer-length", "window-size", "ip-tos", "loopback",
    "link-rtt", "mss",
}  # fmt: skip


def _common(spec: dict) -> list[str]:
    argv = ["-y", "C"]
    if spec.get("udp"):
        argv.append("-u")
    if spec.get("ip-version") == 6:
        argv.append("-V")
    if "window-size" in spec:
        argv += ["-w", str(spec["window-size"])]
    return argv


def server_argv(spec: dict, ports: list[int]) -> list[str]:
    # iperf 2 has no one-shot server: it listens for as long as the client may need.
    listen = setup_time(spec) + seconds_of(spec, "duration", DEFAULT_DURATION) + RETRY_FOR + 1
    return ["iperf", "-s", "-p", str(ports[0]), "-t", f"{listen:g}", *_common(spec)]


def client_argv(spec: dict, dest: str, ports: list[int]) -> list[str]:
    argv = ["iperf", "-c", dest, "-p", str(ports[0]), *_common(spec)]
    argv += ["-t", f"{seconds_of(spec, 'duration', DEFAULT_DURATION):g}"]
    if "interval" in spec:
        argv += ["-i", f"{seconds_of(spec, 'interval', 1):g}"]
    valued = {
        "parallel": "-P",
        "buffer-length": "-l",
        "ip-tos": "-S",
        "mss": "-M",
        "bandwidth": "-b",
    }
    for key, flag in valued.items():
        if key in spec:
            argv += [flag, str(spec[key])]
    return argv + ["-f", "b"]


def _row(fields: list[str]) -> tuple[int, float, float, dict]:
    start, end = (float(x) for x in fields[6].split("-"))
    data = {
        "stream-id": int(fields[5]),
        "start": start,
        "end": end,
        "throughput-bits": float(fields[8]),
        "throughput-bytes": int(fields[7]),
        "omitted": False,
    }
    if len(fields) >= 12:  # UDP: jitter (ms), lost, sent
        data["jitter"] = float(fields[9])
        data["lost"] = int(fields[10])
        data["sent"] = int(fields[11])
    return int(fields[5]), start, end, data


def _total(streams: list[dict], start: float, end: float) -> dict:
    total = {
        "stream-id": -1,
        "start": start,
        "end": end,
        "throughput-bits": sum(s["throughput-bits"] for s in streams),
        "throughput-bytes": sum(s["throughput-bytes"] for s in streams),
        "omitted": False,
    }
    for key in ("lost", "sent"):
        if all(key in s for s in streams):
            total[key] = sum(s[key] for s in streams)
    return total


def parse(output: str, spec: dict) -> dict | None:
    """Per-stream rows per interval; the rows spanning the whole run are the summary.
    iperf's own sum rows (stream id -1) are recomputed rather than trusted: it omits
    them for short runs."""
    rows = []
    for line in output.splitlines():
        fields = line.strip().split(",")
        if len(fields) >= 9 and fields[5].lstrip("-").isdigit():
            rows.append(_row(fields))
    rows = [r for r in rows if r[0] >= 0]
    if not rows:
        return None
    whole_end = max(r[2] for r in rows)
    finals: dict[int, dict] = {}
    by_interval: dict[tuple[float, float], dict[int, dict]] = {}
    for stream, start, end, data in rows:
        if start == 0.0 and end == whole_end and (stream in by_interval.get((start, end), {})):
            finals[stream] = data  # the second 0-end row of a stream is its summary
            continue
        by_interval.setdefault((start, end), {})[stream] = data
    if not finals:  # a run one interval long reports the same span once per stream
        finals = by_interval.pop((0.0, whole_end), {})
    intervals = [
        {"streams": [s[k] for k in sorted(s)], "summary": _total(list(s.values()), *span)}
        for span, s in sorted(by_interval.items())
    ]
    streams = [finals[k] for k in sorted(finals)]
    if not streams:
        return None
    return {
        "intervals": intervals,
        "summary": {"streams": streams, "summary": _total(streams, 0.0, whole_end)},
    }


PAIR = Pair("iperf", "iperf", server_argv, client_argv, parse, ports=1)


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    return verdict(program_missing("iperf") + unsupported_keys("iperf2", spec, ALLOWED))


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "iperf2", "Measure throughput with iperf 2", tests=["throughput"], preference=1
            ),
            duration=PAIR.duration,
            run=PAIR.run,
            can_run=can_run,
            participant_data=PAIR.participant_data,
            merged_results=PAIR.merged_results,
        )
    ]
