"""/pscheduler/status carries the host's load, CPU, memory, disk and shape."""

from __future__ import annotations

import os
import platform

import psutil


def test_status_reports_the_host(node):
    body = node.get("status").json()
    assert {"time", "limits", "services", "runs"} <= set(body)  # the original's keys stay
    host = body["host"]
    assert set(host["load"]) == {"1", "5", "15"}
    assert all(v >= 0 for v in host["load"].values())
    assert abs(host["load"]["15"] - os.getloadavg()[2]) < 2
    assert 0 <= host["cpu-percent"] <= 100
    assert 0 < host["memory-percent"] <= 100
    assert abs(host["disk-percent"] - psutil.disk_usage(node.state_dir).percent) < 5
    assert host["cpu-count"] == psutil.cpu_count()
    assert host["architecture"] == platform.machine()
