"""Exited API workers' request counts are folded into one file kept for all workers gone
(pscheduler.node.metrics.fold_gone_workers), with real prometheus_client files."""

from __future__ import annotations

import fcntl
import json
import os

import pytest
from prometheus_client.mmap_dict import MmapedDict

from pscheduler.node import metrics

NAME = "pscheduler_api_request_duration_seconds"


def _key(route: str, sample: str = "_sum") -> str:
    labels = {"method": "GET", "route": route, "status": "200"}
    return json.dumps([NAME, NAME + sample, labels, "help"], sort_keys=True)


def _write(path: str, values: dict[str, float]) -> None:
    d = MmapedDict(path)
    for key, value in values.items():
        d.write_value(key, value, 0.0)
    d.close()


def _read(path: str) -> dict[str, float]:
    return {k: v for k, v, _, _ in MmapedDict.read_all_values_from_file(path)}


def _scraped(directory: str) -> dict[tuple, float]:
    """What a scrape of the directory reports, sample by sample."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in metrics._Workers(directory).collect()
        for s in family.samples
    }


def _files(directory: str) -> list[str]:
    return sorted(f for f in os.listdir(directory) if f.endswith(".db"))


@pytest.fixture
def directory(tmp_path, monkeypatch):
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    return metrics.prepare_multiprocess_dir(str(tmp_path))


def test_folds_add_up_and_a_scrape_reports_the_same(directory):
    _write(f"{directory}/histogram_101.db", {_key("/a"): 1.5, _key("/b"): 2.0})
    _write(f"{directory}/histogram_102.db", {_key("/a"): 0.25})
    _write(f"{directory}/histogram_103.db", {_key("/b"): 4.0})
    before = _scraped(directory)

    metrics.fold_gone_workers({102, 103})
    metrics.fold_gone_workers({103})
    assert _files(directory) == ["histogram_103.db", metrics.GONE_FILE]  # 103 is alive
    assert _read(f"{directory}/{metrics.GONE_FILE}") == {_key("/a"): 1.75, _key("/b"): 2.0}
    assert _scraped(directory) == before


def test_nothing_to_fold_and_a_fold_cut_short_change_nothing(directory):
    metrics.fold_gone_workers(set())  # no worker served anything
    assert _files(directory) == []
    # A fold killed between writing the new file and putting it in place left this behind.
    _write(f"{directory}/{metrics.GONE_FILE}.new", {_key("/a"): 100.0})
    _write(f"{directory}/histogram_8.db", {_key("/a"): 3.0})
    metrics.fold_gone_workers(set())
    assert _read(f"{directory}/{metrics.GONE_FILE}") == {_key("/a"): 3.0}
    assert not os.path.exists(f"{directory}/{metrics.GONE_FILE}.new")


def test_a_fold_that_cannot_be_made_leaves_the_files_for_the_next(directory, caplog):
    _write(f"{directory}/histogram_9.db", {_key("/a"): 3.0})
    before = _scraped(directory)
    os.mkdir(f"{directory}/{metrics.GONE_FILE}")  # os.replace onto a directory fails
    metrics.fold_gone_workers(set())
    assert "left for a later fold" in caplog.text
    os.rmdir(f"{directory}/{metrics.GONE_FILE}")
    assert _files(directory) == ["histogram_9.db"] and _scraped(directory) == before

    # A scrape that holds the directory (a stuck worker): the fold does not wait for it.
    scrape = os.open(f"{directory}/{metrics.LOCK_FILE}", os.O_RDWR)
    fcntl.flock(scrape, fcntl.LOCK_SH)
    try:
        metrics.fold_gone_workers(set())
        assert _files(directory) == ["histogram_9.db"]
    finally:
        os.close(scrape)
    metrics.fold_gone_workers(set())  # the next one takes it
    assert _files(directory) == [metrics.GONE_FILE] and _scraped(directory) == before
