"""LimitFile hot reload and broken-file behaviour, the example files, and the functions
behind ``validate-limits`` and ``limit-diags``."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from pscheduler.config import default_limits_path
from pscheduler.limits import (
    NO_LIMITS,
    LimitConfigError,
    LimitFile,
    limit_diags,
    load,
    validate_file,
)

from .conftest import LOOPBACK, config, idle_task

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "limits"

ALLOW = config()
DENY = config(
    limits=[{"name": "never", "description": "", "type": "pass-fail", "data": {"pass": False}}],
    applications=[{"description": "Deny", "apply": [{"require": "all", "limits": ["never"]}]}],
)


def write(path: Path, text: str, bump: int) -> None:
    """Write and move the mtime on, so the change is seen whatever the clock resolution."""
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def test_hot_reload_takes_the_new_configuration(tmp_path):
    path = tmp_path / "limits.conf"
    write(path, ALLOW, 1)
    limits = LimitFile(path, check_interval=0)
    assert limits.process(idle_task(), LOOPBACK).passed
    write(path, DENY, 2)
    verdict = limits.process(idle_task(), LOOPBACK)
    assert not verdict.passed and "Limit 'never' failed: Forced failure" in verdict.diags
    assert limits.status() == {"ok": True}


def test_stat_at_most_once_per_interval(tmp_path):
    path = tmp_path / "limits.conf"
    write(path, ALLOW, 1)
    limits = LimitFile(path, check_interval=3600)
    write(path, DENY, 2)
    assert limits.process(idle_task(), LOOPBACK).passed  # not looked at again yet
    limits.reload()
    assert not limits.process(idle_task(), LOOPBACK).passed


def test_broken_file_keeps_the_last_good_configuration(tmp_path):
    path = tmp_path / "limits.conf"
    write(path, DENY, 1)
    limits = LimitFile(path, check_interval=0)
    write(path, '{"schema": 1, "identifiers": [', 2)
    assert not limits.process(idle_task(), LOOPBACK).passed  # still the DENY config
    status = limits.status()
    assert status["ok"] is False and status["error"].startswith(
        "Invalid limit configuration: Invalid JSON:"
    )
    write(path, ALLOW, 3)
    assert limits.process(idle_task(), LOOPBACK).passed
    assert limits.status() == {"ok": True}


def test_broken_from_the_start_refuses_to_judge(tmp_path):
    path = tmp_path / "limits.conf"
    write(path, config(classifiers=[{"name": "c", "description": "", "identifiers": ["ghost"]}]), 1)
    limits = LimitFile(path, check_interval=0)
    assert limits.status() == {"ok": False, "error": "Unknown identifiers: ghost"}
    with pytest.raises(
        LimitConfigError, match=r"^Limit processor is not initialized: Unknown identifiers: ghost$"
    ):
        limits.process(idle_task(), LOOPBACK)


def test_missing_file_is_inert_and_removal_goes_back_to_inert(tmp_path):
    path = tmp_path / "limits.conf"
    limits = LimitFile(path, check_interval=0)
    assert limits.process(idle_task(), LOOPBACK).diags == NO_LIMITS
    write(path, DENY, 1)
    assert not limits.process(idle_task(), LOOPBACK).passed
    path.unlink()
    assert limits.process(idle_task(), LOOPBACK).diags == NO_LIMITS
    assert limits.status() == {"ok": True}


def test_concurrent_callers_during_reloads(tmp_path):
    path = tmp_path / "limits.conf"
    write(path, ALLOW, 1)
    limits = LimitFile(path, check_interval=0)
    errors: list[BaseException] = []

    def hammer():
        try:
            for _ in range(50):
                verdict = limits.process(idle_task(), LOOPBACK)
                assert verdict.diags.endswith("Priority set to default of 0")
                assert limits.status()["ok"]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(10):  # replaced atomically, as editors and config tools do
        staged = tmp_path / f"staged-{i}"
        write(staged, DENY if i % 2 else ALLOW, i + 2)
        os.replace(staged, path)
    for t in threads:
        t.join(timeout=30)
    assert not errors and not any(t.is_alive() for t in threads)


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.conf")))
def test_example_files_load(example):
    assert validate_file(EXAMPLES / example) == (True, "Limit configuration is valid.")
    assert load(EXAMPLES / example) is not None


def test_examples_exist():
    assert {"default.conf", "reject-all.conf", "organization.conf", "cidr-list-url.conf"} <= {
        p.name for p in EXAMPLES.glob("*.conf")
    }


def test_default_example_allows_all_but_long_or_fast_tests():
    processor = load(EXAMPLES / "default.conf")
    outsider = {"requester": "203.0.113.9", "server": "127.0.0.1"}

    def throughput(**spec):
        return {
            "schema": 1,
            "test": {"type": "throughput", "spec": {"schema": 1, "dest": "x", **spec}},
        }

    assert processor.process(throughput(duration="PT30S"), outsider).passed
    assert not processor.process(throughput(duration="PT2M"), outsider).passed
    assert processor.process(throughput(udp=True, bandwidth="10M"), outsider).passed
    assert not processor.process(throughput(udp=True, bandwidth="1G"), outsider).passed
    assert not processor.process(idle_task("PT10M"), outsider).passed
    assert processor.process(idle_task("PT10M"), LOOPBACK).passed  # this host may do anything
    rtt = {"schema": 1, "test": {"type": "rtt", "spec": {"schema": 1, "dest": "x"}}}
    assert processor.process(rtt, outsider).passed


def test_validate_file_reports_the_error(tmp_path):
    path = tmp_path / "bad.conf"
    path.write_text(
        config(
            limits=[{"name": "x", "description": "", "type": "pass-fail", "data": {}}],
            applications=[],
        )
    )
    assert validate_file(path) == (
        False,
        "Limit configuration is invalid:\nLimit 'x': Invalid data: At /: 'pass' is a required property",
    )
    ok, message = validate_file(tmp_path / "absent.conf")
    assert not ok and message.startswith(
        "Limit configuration is invalid:\nUnable to read limit configuration:"
    )


def test_limit_diags_text(tmp_path):
    path = tmp_path / "limits.conf"
    path.write_text(config(schema=2, rewrite={"script": "."}))
    text = limit_diags(None, None, start="2024-05-01T10:00:00Z", path=path)
    lines = text.splitlines()
    assert lines[:5] == [
        "Using built-in default task.",
        "For task starting at 2024-05-01T10:00:00+00:00 lasting PT10S:",
        "Hints:",
        "  requester: 127.0.0.1",
        "  server: 127.0.0.1",
    ]
    assert "Proposal meets limits\nPriority set to default of 0\n\nRewritten task:\n{" in text
    shown = json.loads(text.split("Rewritten task:\n", 1)[1])
    assert shown["run_schedule"] == {"start": "2024-05-01T10:00:00+00:00", "duration": "PT10S"}
    assert shown["test"] == {"type": "idle", "spec": {"schema": 1, "duration": "PT2S"}}

    plain = limit_diags(idle_task(), {"requester": "127.0.0.1"}, path=EXAMPLES / "reject-all.conf")
    assert plain.startswith("Hints:\n  requester: 127.0.0.1\n") and "Rewritten task" not in plain
    assert "Failed; stop forced\nProposal does not meet limits" in plain


def test_default_limits_path_is_the_nodes(tmp_path):
    assert default_limits_path({"PSCHEDULER_CONFIG_DIR": str(tmp_path)}) == str(
        tmp_path / "limits.conf"
    )
    assert default_limits_path({"PSCHEDULER_STATE_DIR": str(tmp_path)}) == str(
        tmp_path / "limits.conf"
    )
    named = str(tmp_path / "other.conf")
    assert default_limits_path({"PSCHEDULER_LIMITS": named, "PSCHEDULER_CONFIG_DIR": "/x"}) == named


def test_limit_diags_without_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PSCHEDULER_LIMITS", str(tmp_path / "none.conf"))
    assert limit_diags(idle_task(), None) == NO_LIMITS  # no file at the default path: inert
    with pytest.raises(LimitConfigError, match="^Unable to read limit configuration: "):
        limit_diags(idle_task(), None, path=tmp_path / "none.conf")  # a named file must exist


def test_limit_diags_raises_for_a_broken_file(tmp_path):
    path = tmp_path / "limits.conf"
    path.write_text("[]")
    with pytest.raises(LimitConfigError, match="must be a JSON object"):
        limit_diags(idle_task(), None, path=path)
