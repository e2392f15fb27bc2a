"""Bench: a simulated pSConfig mesh of N nodes driven by one template.

Starts N nodes on 127.0.0.2 ... 127.0.0.(N+1) sharing one PostgreSQL server (one database per
node through --dsn), serves one template (full mesh: rtt every PT1M, throughput every PT10M)
from one HTTP server, and points every node's agent at it (cycle PT10S here instead of the
default PT1H, so a template edit shows within the bench).  Prints the tasks each agent created,
the seconds until every pair has a finished run (read from the mesh grid), runs missed/failed,
CPU and RSS per node; then edits the template (drops the last host, adds a trace test) and
prints the seconds until every node's tasks match it again.

    .venv/bin/python bench/mesh.py [--nodes N]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import SERVER, Cluster, Node  # noqa: E402
from tests.psconfig.served import TemplateServer  # noqa: E402

DONE = {"ok", "warning", "critical"}
THROUGHPUT_BPS = 10_000_000


def load() -> str:
    """The machine's load averages (other people's tests share these cores)."""
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def template(nodes: list[Node]) -> dict:
    names = [f"n{i}" for i in range(len(nodes))]
    return {
        "addresses": {
            name: {"address": n.host, "pscheduler-address": n.address}
            for name, n in zip(names, nodes, strict=True)
        },
        "groups": {"mesh": {"type": "mesh", "addresses": [{"name": n} for n in names]}},
        "tests": {
            "rtt": {
                "type": "rtt",
                "spec": {
                    "source": "{% address[0] %}",
                    "dest": "{% address[1] %}",
                    "count": 5,
                    "interval": "PT0.2S",
                },
            },
            "throughput": {
                "type": "throughput",
                "spec": {
                    "source": "{% address[0] %}",
                    "dest": "{% address[1] %}",
                    "source-node": "{% pscheduler_address[0] %}",
                    "dest-node": "{% pscheduler_address[1] %}",
                    "schema": 3,
                    "duration": "PT2S",
                    "link-rtt": "PT0.01S",
                    # Capped at 10 Mb/s: 2 x N x (N-1) iperf3 ends at full loopback speed would
                    # each take a core for the run, more than this 2-core machine has at 16 nodes.
                    "bandwidth": THROUGHPUT_BPS,
                },
            },
        },
        "schedules": {
            "PT1M": {"repeat": "PT1M", "slip": "PT50S"},
            "PT10M": {"repeat": "PT10M", "slip": "PT9M"},
        },
        "tasks": {
            "mesh-rtt": {"group": "mesh", "test": "rtt", "schedule": "PT1M"},
            "mesh-throughput": {"group": "mesh", "test": "throughput", "schedule": "PT10M"},
        },
    }


def agent_tasks(node: Node) -> list[dict]:
    query = {
        "reference": {"psconfig": {"created-by": {"agent": node.host}}},
        "detail": {"enabled": True, "participant": 0},
    }
    try:
        r = node.get(
            "tasks",
            params={"expanded": "1", "detail": "1", "json": json.dumps(query)},
            timeout=120,
        )
    except Exception:  # noqa: BLE001 - a slow answer is "not converged yet", not the end
        return [{"reference": {"psconfig": {"task": "(no answer)"}}}]
    return r.json() if r.status_code == 200 else []


def counts(node: Node) -> dict[str, int]:
    out: dict[str, int] = {}
    for task in agent_tasks(node):
        name = task["reference"]["psconfig"]["task"]
        out[name] = out.get(name, 0) + 1
    return out


def stat(node: Node, state: str) -> int:
    return int(node.get(f"stat/runs/{state}").text.strip() or 0)


def usage(node: Node) -> tuple[float, float]:
    """CPU seconds and RSS (MB) of the node's supervisor and all its children."""
    root = psutil.Process(node.proc.pid)
    procs = [root, *root.children(recursive=True)]
    cpu = rss = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            cpu += t.user + t.system
            rss += p.memory_info().rss
        except psutil.Error:
            continue
    return cpu, rss / 2**20


def wait(predicate, timeout: float, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


def browser_cells(node: Node, name: str) -> tuple[int, dict[str, int], str]:
    """The Mesh page in headless Chromium: (cells drawn, drawn per status, screenshot path)."""
    import shutil

    from playwright.sync_api import sync_playwright

    from tests.live.test_dashboard import ARTIFACTS, CHROMIUM_ARGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                ignore_https_errors=True, viewport={"width": 1600, "height": 900}
            )
            page = context.new_page()
            page.goto(node.url("dashboard/") + "#/mesh/0/mesh", timeout=120000)
            page.wait_for_selector("table.grid td.cell[data-status]", timeout=120000)
            drawn = page.locator("table.grid td.cell[data-status]")
            statuses = drawn.evaluate_all("els => els.map(e => e.dataset.status)")
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"bench-mesh-{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            tally = {s: statuses.count(s) for s in set(statuses)}
            return len(statuses), tally, str(shot)
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    # Started in the background, SIGINT is ignored: let SIGTERM run the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n = args.nodes
    cluster = Cluster()
    nodes = [Node(cluster.new_database(), host=f"127.0.0.{i + 2}") for i in range(n)]
    served = None
    try:
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda x: x.start(timeout=120), nodes))
        print(
            f"{n} nodes up in {time.monotonic() - t0:.1f} s (one PostgreSQL, one database each; "
            f"{load()})"
        )
        print(f"throughput tests capped at {THROUGHPUT_BPS / 1e6:.0f} Mb/s for PT2S")
        mesh = template(nodes)
        served = TemplateServer(mesh)
        start = time.monotonic()
        for node in nodes:
            Path(node.state_dir, "psconfig-agent.json").write_text(
                json.dumps({"interval": "PT10S"})
            )
            subprocess.run(
                [
                    SERVER,
                    "--state-dir",
                    node.state_dir,
                    "--dsn",
                    node.dsn,
                    "psconfig",
                    "remote",
                    "add",
                    served.url,
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
        want = {"mesh-rtt": n - 1, "mesh-throughput": n - 1}
        ok = wait(lambda: all(counts(x) == want for x in nodes), 300)
        created = time.monotonic() - start
        for node in nodes:
            print(f"  {node.host}: tasks created by its agent {counts(node)}")
        print(
            f"every agent posted its tasks in {created:.1f} s" if ok else "agents did NOT converge"
        )

        poll = max(5.0, n / 2)  # one grid read asks every lead about every pair
        grid_seconds: list[float] = []

        def fill(cells: int, since: float, what: str) -> bool:
            """Poll the grid until it has ``cells`` cells, all green; print when first every
            pair had a finished (or failed) run and when all were green."""
            first = None
            tally: dict[str, int] = {}
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                asked = time.monotonic()
                try:
                    body = nodes[0].get("mesh/grid", timeout=300).json()
                except Exception as exc:  # noqa: BLE001 - a slow grid is a figure, not the end
                    print(f"{what}: grid read failed after {time.monotonic() - asked:.0f} s: {exc}")
                    time.sleep(poll)
                    continue
                grid_seconds.append(time.monotonic() - asked)
                states = [c["status"] for g in body["grids"] for c in g["cells"]]
                tally = {s: states.count(s) for s in set(states)}
                if first is None and len(states) == cells and set(states) <= DONE | {"failed"}:
                    first = time.monotonic() - since
                    print(
                        f"{what}: every pair has a finished or failed run in {first:.1f} s {tally}"
                    )
                if len(states) == cells and set(states) <= DONE:
                    print(
                        f"{what}: grid filled {cells}/{cells} cells, all green, "
                        f"{time.monotonic() - since:.1f} s ({load()}); one grid read took "
                        f"{min(grid_seconds):.1f}-{max(grid_seconds):.1f} s"
                    )
                    return True
                time.sleep(poll)
            print(f"{what}: grid NOT all green after {args.timeout:.0f} s: {tally} ({load()})")
            return False

        fill(2 * n * (n - 1), start, "after configuring the template")
        try:
            count, tally, shot = browser_cells(nodes[0], f"{n}")
            print(f"headless Chromium: {count} grid cells drawn {tally} ({shot})")
        except Exception as exc:  # noqa: BLE001 - the bench goes on without a browser
            print(f"headless Chromium: not drawn ({exc.__class__.__name__}: {exc})")
        for node in nodes:
            cpu, rss = usage(node)
            print(
                f"  {node.host}: finished {stat(node, 'finished')}, missed {stat(node, 'missed')}, "
                f"failed {stat(node, 'failed')}, CPU {cpu:.1f} s, RSS {rss:.0f} MB"
            )

        # Edit: drop the last host, add a trace test.
        edited = copy.deepcopy(mesh)
        dropped = nodes[-1]
        edited["groups"]["mesh"]["addresses"].pop()
        edited["tests"]["trace"] = {
            "type": "trace",
            "spec": {"source": "{% address[0] %}", "dest": "{% address[1] %}"},
        }
        edited["tasks"]["mesh-trace"] = {"group": "mesh", "test": "trace", "schedule": "PT10M"}
        served.template = edited
        edit = time.monotonic()
        after = {"mesh-rtt": n - 2, "mesh-throughput": n - 2, "mesh-trace": n - 2}
        ok = wait(
            lambda: all(counts(x) == after for x in nodes[:-1]) and counts(dropped) == {},
            300,
            every=1,
        )
        print(
            f"template edit (drop {dropped.host}, add trace): every node converged in "
            f"{time.monotonic() - edit:.1f} s"
            if ok
            else "edit: nodes did NOT converge"
        )
        fill(3 * (n - 1) * (n - 2), edit, "after the edit")
        missed = sum(stat(x, "missed") for x in nodes)
        failed = sum(stat(x, "failed") for x in nodes)
        print(
            f"runs missed {missed}, failed {failed} over the whole bench "
            f"({time.monotonic() - start:.0f} s)"
        )
        for node in nodes:
            cpu, rss = usage(node)
            print(f"  {node.host}: CPU {cpu:.1f} s, RSS {rss:.0f} MB")
        print(load())
    finally:
        if served:
            served.close()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda x: x.cleanup(), nodes))
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
