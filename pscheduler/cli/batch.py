"""``pscheduler batch``: run a JSON batch of jobs (spec/cli.md §3) and print it with results.

Each job is run one after another; a job's iterations run serially or, with ``parallel``, in
a thread each (with ``sync-start`` they share one start time).  jq scripts (global
transforms, ``task-transform``, ``iterations``, ``continue-if``) run through the ``jq``
module.  Every batch task is single-shot: ``start``, ``repeat``, ``repeat-cron``, ``until``
and ``max-runs`` are stripped.  ``--dry`` prepares everything and gives each job ``{}``.
A job may set ``setup-time`` (default PT15S, the documented key the original's schema
rejects) for sync-start.  Exit 1 when an iteration or one of its runs failed.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jq
import jsonschema

from pscheduler.cli.client import Client, ClientError, assist_host, with_query
from pscheduler.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_common,
    dump_json,
    err,
    fail,
    iso,
    make_client,
    now,
)
from pscheduler.cli.oneshot import lead_for, post_task, run_to_completion
from pscheduler.toolkit.iso8601 import duration_to_iso, parse_duration
from pscheduler.toolkit.vocabulary import FAILED_STATES

_SCRIPT = {
    "type": "object",
    "properties": {
        "script": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    },
    "required": ["script"],
}
_DURATION = {"type": "string", "pattern": r"^P"}


def _schema(version: int) -> dict:
    job = {
        "type": "object",
        "properties": {
            "label": {"type": "string"},
            "enabled": {"type": "boolean"},
            "iterations": {"type": "integer", "minimum": 1}
            if version < 3
            else {"anyOf": [{"type": "integer", "minimum": 1}, _SCRIPT]},
            "parallel": {"type": "boolean"},
            "backoff": _DURATION,
            "sync-start": {"type": "boolean"},
            "setup-time": _DURATION,
            "task": {
                "anyOf": [
                    {"type": "object"},
                    {"type": "array", "items": {"type": "object"}, "minItems": 1},
                ]
            },
            "task-transform": _SCRIPT,
        },
        "required": ["task"],
        "additionalProperties": False,
    }
    if version >= 2:
        job["properties"]["continue-if"] = _SCRIPT
    top = {
        "type": "object",
        "properties": {
            "schema": {"type": "integer", "enum": [version]}
            if version > 1
            else {"type": "integer", "enum": [1]},
            "global": {
                "type": "object",
                "properties": {
                    "data": {},
                    "transform-pre": _SCRIPT,
                    "transform-post": _SCRIPT,
                },
                "additionalProperties": False,
            },
            "jobs": {"type": "array", "items": job},
        },
        "required": ["jobs"] + (["schema"] if version > 1 else []),
        "additionalProperties": False,
    }
    return top


def register(subparsers) -> None:
    p = subparsers.add_parser("batch", help="run a JSON batch of jobs")
    p.add_argument("file", nargs="?", default="-", metavar="JOBFILE|-")
    p.add_argument("--assist", metavar="HOST[:PORT]", help="server that names participants")
    p.add_argument("--lead", metavar="HOST[:PORT]", help="lead when the test names none")
    p.add_argument("--dry", action="store_true", help="prepare and validate only")
    add_common(p, host=False)
    p.set_defaults(func=command)


def _program(script: dict, what: str) -> Any:
    text = script["script"]
    if isinstance(text, list):
        text = "\n".join(text)
    try:
        return jq.compile(text, args={"global": None, "iteration": 0})
    except ValueError as exc:
        raise fail(f"{what}: jq script does not compile: {exc}") from None


def _jq(script: dict | None, value: Any, global_data: Any, iteration: int | None, what: str) -> Any:
    if not script:
        return value
    text = script["script"]
    if isinstance(text, list):
        text = "\n".join(text)
    try:
        program = jq.compile(text, args={"global": global_data, "iteration": iteration})
        outputs = program.input_value(value).all()
    except ValueError as exc:
        raise fail(f"{what}: {exc}") from None
    return outputs[0] if outputs else None


def load(path: str) -> dict:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror}") from None
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise fail(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise fail(f"{path}: a batch must be a JSON object")
    version = spec.get("schema", 1)
    if not isinstance(version, int) or version not in (1, 2, 3):
        raise fail(f"{path}: schema {version!r} is not supported (1 to 3)")
    try:
        jsonschema.validate(spec, _schema(version))
    except jsonschema.ValidationError as exc:
        where = "/" + "/".join(str(p) for p in exc.absolute_path)
        raise fail(f"{path}: At {where}: {exc.message}") from None
    return spec


def prepare(spec: dict) -> list[list[dict] | None]:
    """For each job, its list of ready-to-post tasks (None for a disabled job)."""
    glob = spec.get("global") or {}
    data = glob.get("data")
    for name in ("transform-pre", "transform-post"):
        if glob.get(name):
            _program(glob[name], f"global {name}")
    prepared: list[list[dict] | None] = []
    for number, job in enumerate(spec["jobs"]):
        label = job.get("label", f"job[{number}]")
        if job.get("continue-if"):
            _program(job["continue-if"], f"{label}: continue-if")
        if not job.get("enabled", True):
            prepared.append(None)
            continue
        base = job["task"]
        iterations = job.get("iterations", len(base) if isinstance(base, list) else 1)
        if isinstance(iterations, dict):
            iterations = _jq(iterations, None, data, None, f"{label}: iterations")
            if not isinstance(iterations, int) or iterations < 1:
                raise fail(f"{label}: iterations script must give an integer >= 1")
        tasks = []
        for i in range(iterations):
            task = copy.deepcopy(base[i % len(base)] if isinstance(base, list) else base)
            task = _jq(glob.get("transform-pre"), task, data, i, f"{label}: transform-pre")
            task = _jq(job.get("task-transform"), task, data, i, f"{label}: task-transform")
            task = _jq(glob.get("transform-post"), task, data, i, f"{label}: transform-post")
            if not isinstance(task, dict) or not isinstance(task.get("test"), dict):
                raise fail(f"{label}: iteration {i}: transformed task has no 'test' object")
            schedule = dict(task.get("schedule") or {})
            for key in ("start", "repeat", "repeat-cron", "until", "max-runs"):
                schedule.pop(key, None)
            task["schedule"] = schedule
            tasks.append(task)
        prepared.append(tasks)
    return prepared


def run_iteration(
    client: Client,
    assist: str,
    lead_hint: str | None,
    task: dict,
    delay: float,
    start: dt.datetime | None,
) -> dict:
    """Post one task, wait for its run, gather every run's result in three formats."""
    try:
        if delay > 0:
            time.sleep(delay)
        task = copy.deepcopy(task)
        if start is not None:
            task["schedule"]["start"] = iso(start)
        lead = lead_for(client, assist, task, lead_hint)
        task_url = post_task(client, lead, task)
        run_to_completion(client, task_url)
        posted = client.get_json(task_url)
        runs = []
        for run_url in client.get_json(task_url + "/runs"):
            run = client.get_json(run_url)
            entry = {"application/json": run}
            if run.get("result-merged") is not None:
                for mime in ("text/plain", "text/html"):
                    try:
                        entry[mime] = client.get_text(with_query(run["result-href"], format=mime))
                    except ClientError as exc:
                        entry[mime] = None
                        entry.setdefault("errors", []).append(str(exc))
            runs.append(entry)
        return {"task": posted, "runs": runs}
    except Exception as exc:  # noqa: BLE001 - one failed iteration must not end the batch
        return {"succeeded": False, "error": str(exc)}


def run_job(
    client: Client, assist: str, lead: str | None, job: dict, tasks: list[dict], debug
) -> list[dict]:
    backoff = parse_duration(job.get("backoff", "P0D")).total_seconds()
    parallel = job.get("parallel", False)
    sync = job.get("sync-start", parallel)
    start = None
    if sync:
        setup = parse_duration(job.get("setup-time", "PT15S")).total_seconds()
        start = now() + dt.timedelta(seconds=backoff * len(tasks) + setup)
    if parallel:
        with ThreadPoolExecutor(max_workers=max(1, len(tasks))) as pool:
            futures = [
                pool.submit(
                    run_iteration, client, assist, lead, task, 0 if sync else i * backoff, start
                )
                for i, task in enumerate(tasks)
            ]
            return [f.result() for f in futures]
    results = []
    for i, task in enumerate(tasks):
        debug(f"{job.get('label', 'unlabeled')}: iteration {i}")
        results.append(run_iteration(client, assist, lead, task, i * backoff if i else 0, start))
    return results


def command(args: argparse.Namespace) -> int:
    client = make_client(args)
    spec = load(args.file)
    prepared = prepare(spec)
    assist = assist_host(args.assist)
    try:
        client.ping(assist, timeout=min(10, args.timeout))
    except ClientError as exc:
        raise fail(f"Unable to find pScheduler on {assist}: {exc}", EXIT_USAGE) from None

    def debug(message: str) -> None:
        if args.debug:
            err(message)

    began = now()
    output = copy.deepcopy(spec)
    glob_data = (spec.get("global") or {}).get("data")
    for number, (job, tasks) in enumerate(zip(output["jobs"], prepared, strict=True)):
        if tasks is None:
            continue
        label = job.get("label", f"job[{number}]")
        if args.dry:
            job["results"] = {}
            continue
        debug(f"Running {label}: {len(tasks)} iteration(s)")
        job["results"] = run_job(client, assist, args.lead, job, tasks, debug)
        if job.get("continue-if"):
            verdict = _jq(
                job["continue-if"], job["results"], glob_data, None, f"{label}: continue-if"
            )
            if not isinstance(verdict, bool):
                raise fail(f"{label}: continue-if must return true or false, not {verdict!r}")
            if not verdict:
                debug(f"{label}: continue-if is false; skipping the remaining jobs")
                break
    end = now()
    output["batch"] = {
        "start": iso(began),
        "end": iso(end),
        "duration": duration_to_iso(end - began),
    }
    print(dump_json(output))
    return EXIT_FAILED if any_failed(output) else EXIT_OK


def any_failed(output: dict) -> bool:
    """True when an iteration failed or one of its runs did not succeed (exit 1)."""
    for job in output["jobs"]:
        for result in job.get("results") or []:
            if result.get("succeeded") is False:
                return True
            for entry in result.get("runs") or []:
                run = entry.get("application/json") or {}
                merged = run.get("result-merged")
                if isinstance(merged, dict) and merged.get("succeeded") is False:
                    return True
                if run.get("state") in FAILED_STATES:
                    return True
    return False
