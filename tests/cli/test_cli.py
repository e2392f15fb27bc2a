"""The installed ``pscheduler`` command against a real node: output and exit codes."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import CLI, free_port, require_program

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
UUID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


def cli(*args: str, node=None, timeout: float = 60, stdin: str | None = None, env=None):
    """Run the installed console script; returns the CompletedProcess."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
    if node is not None:
        environ["PSCHEDULER_LOCALHOST"] = node.address
    environ.update(env or {})
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        input=stdin,
    )


def unreachable() -> str:
    return f"127.0.0.1:{free_port()}"


# --- Usage, help, plumbing ------------------------------------------------------------------


def test_help_documents_exit_codes():
    out = cli("--help")
    assert out.returncode == 0
    assert "exit status" in out.stdout
    for code in ("0  success", "1  a run failed", "2  usage error"):
        assert code in out.stdout
    for command in (
        "task",
        "watch",
        "result",
        "schedule",
        "monitor",
        "plot-schedule",
        "batch",
        "troubleshoot",
        "validate-limits",
        "metrics",
        "completion",
    ):
        assert command in out.stdout


def test_no_arguments_and_bad_options_are_usage_errors():
    assert cli().returncode == 2
    out = cli("nosuchcommand")
    assert out.returncode == 2 and "invalid choice" in out.stderr
    # Checked before any request: no server needed.
    out = cli("task", "--repeat", "every-minute", "--assist", unreachable(), "idle")
    assert out.returncode == 2
    assert "Invalid --repeat 'every-minute'" in out.stderr


def test_python_dash_m_is_the_same_command():
    out = subprocess.run(
        [sys.executable, "-m", "pscheduler", "--help"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0 and "exit status" in out.stdout


def test_env_lists_pscheduler_variables():
    out = cli("env", env={"PSCHEDULER_SLIP": "PT7M", "PSCHEDULER_ASSIST": "a.example:9"})
    assert out.returncode == 0
    assert "PSCHEDULER_SLIP=PT7M" in out.stdout
    assert "PSCHEDULER_ASSIST=a.example:9" in out.stdout


def test_version_lists_our_package():
    out = cli("version")
    assert out.returncode == 0
    assert re.search(r"^pscheduler\s+\d", out.stdout, re.M), out.stdout


def test_bash_completion_script_is_valid_bash():
    out = cli("completion", "bash")
    assert out.returncode == 0
    script = out.stdout
    assert "complete -F _pscheduler pscheduler" in script
    assert "--repeat-cron" in script and "--filter-test" in script
    assert "_pscheduler_names tests" in script  # test names come from the host
    assert "--names" in script
    bash = shutil.which("bash")
    if bash:
        check = subprocess.run([bash, "-n"], input=script, text=True, capture_output=True)
        assert check.returncode == 0, check.stderr


def test_host_parsing_brackets_ipv6():
    from pscheduler.cli.client import api_url, split_host

    assert api_url("::1") == "https://[::1]/pscheduler/"
    assert api_url("[::1]:8443", "tasks") == "https://[::1]:8443/pscheduler/tasks"
    assert api_url("host.example:443", "api") == "https://host.example/pscheduler/api"
    assert split_host("127.0.0.1:8443").port == 8443
    with pytest.raises(ValueError):
        split_host("[::1")
    with pytest.raises(ValueError):
        split_host("host:99999")


def test_cli_imports_no_server_module():
    code = (
        "import sys, pscheduler.cli.main as m; m.build_parser();"
        "bad=[n for n in sys.modules if n.startswith(('pscheduler.api','pscheduler.db',"
        "'pscheduler.tasks','pscheduler.server','pscheduler_daemons','flask','psycopg2'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr


# --- Small commands against a node ----------------------------------------------------------


def test_ping_alive_and_unreachable(node):
    out = cli("ping", node=node)
    assert out.returncode == 0
    assert out.stdout.strip() == f"{node.address}: pScheduler is alive"
    down = unreachable()
    out = cli("ping", down)
    assert out.returncode == 2
    assert down in out.stderr and "Traceback" not in out.stderr


def test_unreachable_host_exits_2_without_traceback():
    down = unreachable()
    for args in (
        ["plugins", "tests", "--host", down],
        ["schedule", "--host", down],
        ["task", "--assist", down, "idle", "--duration", "PT1S"],
        ["metrics", "--host", down],
    ):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert "Traceback" not in out.stderr
        assert down in out.stderr


def test_plugins_list_names_and_details(node):
    out = cli("plugins", "tests", node=node)
    assert out.returncode == 0
    assert re.search(r"^idle\s+\S", out.stdout, re.M)
    names = cli("plugins", "test", "--names", node=node).stdout.split()
    assert "idle" in names and "noop" in names
    verbose = cli("plugins", "tools", "-v", node=node).stdout
    assert "Preference" in verbose and "Tests" in verbose
    bad = cli("plugins", "gizmos", node=node)
    assert bad.returncode == 2 and "Unknown kind" in bad.stderr


def test_clock_compares_two_hosts(node):
    out = cli("clock", node.address, node.address, node=node)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("clock ") == 2
    assert re.search(r"^difference P\S+ safe$", out.stdout, re.M)


def test_metrics_json_and_prometheus(node):
    out = cli("metrics", node=node)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data["runs"]) >= {"pending", "finished", "failed", "nonstart"}
    assert data["paused"]["is_paused"] in (True, False)
    prom = cli("metrics", "--format", "prometheus", node=node)
    assert prom.returncode == 0
    assert re.search(r'^perfsonar_pscheduler_runs\{state="finished"\} \d+$', prom.stdout, re.M)
    assert "# TYPE perfsonar_pscheduler_runs gauge" in prom.stdout


def test_validate_limits(tmp_path):
    good = cli("validate-limits", str(ROOT / "examples" / "limits" / "default.conf"))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "valid" in good.stdout
    bad_file = tmp_path / "bad.conf"
    bad_file.write_text('{"schema": 1, "limits": [{"name": 3}]}')
    bad = cli("validate-limits", str(bad_file))
    assert bad.returncode == 1
    assert "invalid" in bad.stdout
    missing = cli("validate-limits", str(tmp_path / "nope.conf"))
    assert missing.returncode == 2
    # Without FILE: the file the node reads (limits.conf in its config dir, or PSCHEDULER_LIMITS).
    (tmp_path / "limits.conf").write_text(bad_file.read_text())
    default = cli("validate-limits", env={"PSCHEDULER_CONFIG_DIR": str(tmp_path)})
    assert default.returncode == 1 and "invalid" in default.stdout
    named = cli("validate-limits", env={"PSCHEDULER_LIMITS": str(tmp_path / "nope.conf")})
    assert named.returncode == 2 and "nope.conf: no such file" in named.stderr


def test_troubleshoot_quick(node):
    out = cli("troubleshoot", "--quick", "--stats", node=node)
    assert out.returncode == 0, out.stdout
    assert "Checking services and limits... OK" in out.stdout
    assert "pScheduler appears to be functioning normally." in out.stdout
    down = cli("troubleshoot", "--quick", "--host", unreachable())
    assert down.returncode == 2
    assert "Failed." in down.stdout


# --- Tasks ----------------------------------------------------------------------------------


def test_unknown_test_gives_server_message_and_exit_2(node):
    out = cli("task", "nosuchtest", "--x", "1", node=node)
    assert out.returncode == 2
    assert out.stderr.strip() == 'No test "nosuchtest" is available.'


def test_test_options_help_comes_from_the_server(node):
    out = cli("task", "idle", "--help", node=node)
    assert out.returncode == 0
    assert "--duration" in out.stdout and "usage: idle" in out.stdout
    bad = cli("task", "idle", "--no-such-option", node=node)
    assert bad.returncode == 2 and "--no-such-option" in bad.stderr


def test_export_builds_the_task_json(node):
    out = cli(
        "task",
        "--export",
        "--repeat",
        "PT1M",
        "--max-runs",
        "2",
        "--priority",
        "3",
        "--start",
        "PT5M",
        "--slip",
        "PT30S",
        "--sliprand",
        "--tool",
        "snooze",
        "--reference",
        '{"who": "test"}',
        "--archive",
        '{"archiver": "bitbucket", "data": {}}',
        "--repeat-cron",
        "*/5 * * * *",
        "idle",
        "--duration",
        "PT1S",
        node=node,
    )
    assert out.returncode == 0, out.stderr
    task = json.loads(out.stdout)
    assert task["schema"] == 3 and task["priority"] == 3
    assert task["test"] == {"type": "idle", "spec": {"schema": 1, "duration": "PT1S"}}
    sched = task["schedule"]
    assert sched["repeat"] == "PT1M" and sched["max-runs"] == 2 and sched["sliprand"] is True
    assert sched["slip"] == "PT30S" and sched["schema"] == 2
    assert sched["repeat-cron"] == "*/5 * * * *"
    from pscheduler.toolkit.iso8601 import parse_timestamp, utcnow

    ahead = (parse_timestamp(sched["start"]) - utcnow()).total_seconds()
    assert 200 < ahead <= 300  # --start PT5M is relative to now
    assert task["tools"] == ["snooze"] and task["reference"] == {"who": "test"}
    assert task["archives"] == [{"archiver": "bitbucket", "data": {}}]
    batch = cli(
        "task", "--export", "--export-format", "batch", "idle", "--duration", "PT1S", node=node
    )
    exported = json.loads(batch.stdout)
    assert (
        exported["jobs"][0]["label"] == "Exported idle"
        and "schedule" not in exported["jobs"][0]["task"]
    )


def test_import_with_overrides(node, tmp_path):
    spec = tmp_path / "task.json"
    spec.write_text(
        json.dumps(
            {
                "test": {
                    "type": "idle",
                    "spec": {"schema": 1, "duration": "PT9S", "starting-comment": "hi"},
                }
            }
        )
    )
    out = cli("task", "--import", str(spec), "--export", "-", "--duration", "PT2S", node=node)
    assert out.returncode == 0, out.stderr
    task = json.loads(out.stdout)
    assert task["test"]["spec"]["duration"] == "PT2S"
    assert task["test"]["spec"]["starting-comment"] == "hi"


def test_task_idle_prints_the_result(node):
    began = time.monotonic()
    out = cli("task", "idle", "--duration", "PT1S", node=node)
    elapsed = time.monotonic() - began
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PT1S" in out.stdout
    # Not a terminal: nothing but the result.
    assert "Task URL" not in out.stdout and "Starts" not in out.stdout
    assert elapsed < 20


def test_failed_run_exits_1_with_the_reason(node):
    out = cli("task", "noop", "--fail", "1.0", node=node)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Run failed." in out.stdout
    assert "Randomly-induced failure" in out.stdout


def test_json_format_prints_the_merged_result(node):
    out = cli("task", "--format", "json", "noop", "--data", '{"n": 42}', node=node)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["succeeded"] is True and result["data"] == {"n": 42}


def test_watch_follows_every_run_of_a_repeating_task(node, tmp_path):
    out = cli(
        "task",
        "--repeat",
        "PT2S",
        "--max-runs",
        "3",
        "--slip",
        "PT1S",
        "--output",
        str(tmp_path / "run-%n.txt"),
        "idle",
        "--duration",
        "PT1S",
        node=node,
        timeout=90,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["run-1.txt", "run-2.txt", "run-3.txt"]
    assert all("PT1S" in (tmp_path / f).read_text() for f in files)


@pytest.fixture(scope="module")
def finished_noop(node) -> str:
    """URL of a noop task posted with --url and watched to its end."""
    posted = cli("task", "--url", "noop", "--data", '{"k": "v"}', node=node)
    assert posted.returncode == 0, posted.stderr
    task_url = posted.stdout.strip()
    assert re.fullmatch(r"https://\S+/pscheduler/tasks/[0-9a-f-]{36}", task_url)
    watched = cli("watch", "--first", task_url, node=node)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "k" in watched.stdout
    return task_url


def test_url_result_watch_cancel(node, finished_noop):
    task_url = finished_noop
    result = cli("result", "--full", task_url, node=node)
    assert result.returncode == 0, result.stdout
    assert "Diagnostics from" in result.stdout and "Archivings:" in result.stdout
    run_url = re.search(r"https://\S+/runs/[0-9a-f-]{36}", result.stdout).group(0)
    as_json = cli("result", "--format", "json", run_url, node=node)
    assert json.loads(as_json.stdout)["data"] == {"k": "v"}
    bad = cli("result", "--format", "json", "--diags", run_url, node=node)
    assert bad.returncode == 2
    assert cli("cancel", task_url, node=node).returncode == 0
    gone = cli("cancel", re.sub(r"[0-9a-f-]{36}$", UUID, task_url), node=node)
    assert gone.returncode == 2 and "Task not found." in gone.stderr
    notask = cli("result", "https://example.invalid/not/a/task")
    assert notask.returncode == 2 and "not a pScheduler task or run URL" in notask.stderr


def test_result_of_failed_run_exits_1(node):
    url = cli("task", "--url", "noop", "--fail", "1.0", node=node).stdout.strip()
    quiet = cli("watch", "--first", "--format", "none", url, node=node)
    assert quiet.returncode == 1
    assert quiet.stdout == "" and "Run failed." in quiet.stderr
    out = cli("result", "--format", "json", url, node=node)
    assert out.returncode == 1
    assert json.loads(out.stdout)["succeeded"] is False


def test_schedule_views(node, finished_noop):
    url = finished_noop
    out = cli("schedule", "-PT10M", "+PT1M", "--format", "json", node=node)
    assert out.returncode == 0, out.stderr
    runs = json.loads(out.stdout)
    ours = [r for r in runs if r["href"].startswith(url)]
    assert ours and ours[0]["state"] == "finished"
    text = cli("schedule", "--task", url, node=node)
    assert text.returncode == 0
    assert "(Finished)" in text.stdout and "noop" in text.stdout
    hidden = cli("schedule", "--task", url, "--filter-test", "noop", "--invert", node=node)
    assert hidden.stdout.strip() == "Nothing scheduled"
    shown = cli("schedule", "-PT10M", "--filter-test", "noop", node=node)
    assert url in shown.stdout and "idle " not in shown.stdout
    bad = cli("schedule", "yesterday", node=node)
    assert bad.returncode == 2 and "Invalid time" in bad.stderr


def test_monitor_and_plot(node, finished_noop, tmp_path):
    out = cli("monitor", "--filter-test", "noop", node=node, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "pScheduler Monitor" in out.stdout and "noop" in out.stdout
    assert "Finished" in out.stdout
    png = tmp_path / "plot.png"
    plot = cli("plot-schedule", "-PT10M", "+PT10M", "--output", str(png), node=node)
    assert plot.returncode == 0, plot.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_batch_example_runs(node):
    example = HERE / "batch-example.json"
    dry = cli("batch", "--dry", str(example), node=node)
    assert dry.returncode == 0, dry.stderr
    assert [j.get("results") for j in json.loads(dry.stdout)["jobs"]] == [{}, {}, None, {}]
    out = cli("batch", str(example), node=node, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    output = json.loads(out.stdout)
    assert set(output["batch"]) == {"start", "end", "duration"}
    idle, noops, disabled, bgm = output["jobs"]
    assert "results" not in disabled
    assert len(idle["results"]) == 1
    (run,) = idle["results"][0]["runs"]
    assert run["application/json"]["result-merged"]["succeeded"] is True
    assert "PT1S" in run["text/plain"]
    # The global transforms and the per-iteration task transform were applied.
    assert idle["results"][0]["task"]["reference"] == {"batch": True}
    assert "repeat" not in idle["results"][0]["task"]["schedule"]
    datas = sorted(
        r["runs"][0]["application/json"]["result-merged"]["data"]["iteration"]
        for r in noops["results"]
    )
    assert datas == [0, 1, 2]
    assert len(bgm["results"]) == 1


def test_batch_rejects_bad_input(tmp_path, node):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": 3, "jobs": [{"task": {}, "nonsense": 1}]}')
    out = cli("batch", str(bad), node=node)
    assert out.returncode == 2 and "bad.json: At /jobs/0" in out.stderr
    out = cli("batch", "-", stdin="{not json", node=node)
    assert out.returncode == 2 and "invalid JSON" in out.stderr


def _on_terminal(command: list[str], node, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the CLI with stdout on a pseudo-terminal (util-linux ``script``)."""
    script = require_program("script")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
    environ["PSCHEDULER_LOCALHOST"] = node.address
    environ.setdefault("TERM", "xterm")
    line = " ".join(shlex.quote(a) for a in [CLI, *command])
    return subprocess.run(
        [script, "-qec", line, "/dev/null"],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        stdin=subprocess.DEVNULL,
    )


def test_on_a_terminal_monitor_is_live_and_task_counts_down(node, finished_noop):
    live = _on_terminal(["monitor", "--count", "2", "--refresh", "0.2"], node)
    assert live.returncode == 0, live.stdout[-500:]
    assert "\x1b[?1049h" in live.stdout  # the alternate screen, left cleanly
    assert "\x1b[?1049l" in live.stdout
    assert live.stdout.count("pScheduler Monitor") >= 2
    task = _on_terminal(["task", "idle", "--duration", "PT1S"], node)
    assert task.returncode == 0, task.stdout
    assert "Task URL:" in task.stdout and "Running with tool" in task.stdout
    assert "Waiting for result" in task.stdout and "PT1S" in task.stdout
    assert re.search(r"https://\S+/pscheduler/tasks/[0-9a-f-]{36}\s", task.stdout)
    assert "Starts " in task.stdout and "Ends " in task.stdout
    assert "No further runs scheduled." in task.stdout
