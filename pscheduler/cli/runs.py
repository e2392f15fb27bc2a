"""Showing one run: its outcome, its formatted result, why it failed or never started.

Shared by ``task``, ``watch``, ``result``, ``troubleshoot`` and ``batch`` so every command
judges a run the same way (and exits 1 for the same reasons).
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from typing import Any

from pscheduler.cli.client import Client, ServerError, with_query
from pscheduler.cli.common import dump_json, fail, to_local
from pscheduler.toolkit.iso8601 import parse_timestamp
from pscheduler.toolkit.vocabulary import UNFINISHED_STATES

FORMATS = {
    "text": "text/plain",
    "plain": "text/plain",
    "html": "text/html",
    "json": "application/json",
    "text/plain": "text/plain",
    "text/html": "text/html",
    "application/json": "application/json",
    "none": None,
}


@dataclass
class Outcome:
    succeeded: bool
    complete: bool
    reason: str = ""


def outcome(run: dict) -> Outcome:
    """Did the run succeed?  ``complete`` is False while it may still change."""
    state = run.get("state")
    display = run.get("state-display") or state or "unknown"
    if state in UNFINISHED_STATES:
        if state == "cleanup" and _merged_succeeded(run) is not None:
            ok = bool(_merged_succeeded(run))
            return Outcome(ok, True, "" if ok else "Run failed.")
        return Outcome(False, False, "Run has not completed.")
    if state == "nonstart":
        return Outcome(
            False,
            True,
            f"Run scheduled at {to_local(run.get('start-time'))} is a non-starter:\n"
            + _errors_text(run),
        )
    if state == "finished":
        merged = _merged_succeeded(run)
        if merged is False:
            return Outcome(False, True, "Run failed.")
        return Outcome(True, True)
    if state == "failed":
        return Outcome(False, True, "Run failed.")
    return Outcome(False, True, f"Run did not complete: {display}")


def _merged_succeeded(run: dict) -> bool | None:
    merged = run.get("result-merged")
    if isinstance(merged, dict) and "succeeded" in merged:
        return bool(merged["succeeded"])
    return None


def _errors_text(run: dict) -> str:
    errors = run.get("errors")
    if not errors:
        return "  (No reason given.)"
    if isinstance(errors, list):
        errors = "\n".join(str(e) for e in errors)
    return "\n".join("  " + line for line in str(errors).splitlines())


def wait_for_result(client: Client, run_url: str, deadline_s: float = 60.0) -> dict:
    """Fetch the run until it is terminal (server long-polls with wait-merged), bounded."""
    end = time.monotonic() + deadline_s
    run = client.get_json(run_url)
    while not outcome(run).complete and time.monotonic() < end:
        left = max(1, min(30, int(end - time.monotonic())))
        try:
            run = client.get_json(
                with_query(run_url, **{"wait-merged": True, "wait": left}), timeout=left + 30
            )
        except ServerError as exc:
            if exc.status in (400, 500):  # an older server without the long poll
                time.sleep(1)
                run = client.get_json(run_url)
            else:
                raise
        if not outcome(run).complete:
            time.sleep(0.5)
    return run


def clock_skew_note(run: dict) -> str | None:
    """A line when participants' clocks differed by more than a second."""
    survey = run.get("clock-survey")
    if not isinstance(survey, list) or len(survey) < 2:
        return None
    times = []
    for entry in survey:
        try:
            times.append(parse_timestamp(entry["time"]))
        except (KeyError, TypeError, ValueError):
            continue
    if len(times) < 2:
        return None
    spread = (max(times) - min(times)).total_seconds()
    if spread > 1.0:
        return (
            f"Note: participant clocks differed by {spread:.2f} s; the run probably failed "
            "because of it."
        )
    return None


def failure_details(run: dict) -> str:
    """Error and diagnostics blocks of a failed run, overall then per participant, each
    message once (a single participant's error is usually the merged one)."""
    lines: list[str] = []
    said: set[str] = set()

    def block(title: str, text: Any) -> None:
        key = text if isinstance(text, str) else json.dumps(text)
        if text and key not in said:
            said.add(key)
            _block(lines, title, text)

    merged = run.get("result-merged") or {}
    if isinstance(merged, dict):
        block("Error", merged.get("error"))
        block("Diagnostics", merged.get("diags"))
    participants = run.get("participants") or []
    for number, result in enumerate(run.get("result-full") or []):
        if not isinstance(result, dict) or result.get("succeeded", True):
            continue
        host = participants[number] if number < len(participants) else f"participant {number}"
        block(f"Error from {host}", result.get("error"))
        block(f"Diagnostics from {host}", result.get("diags"))
    errors = run.get("errors")
    if isinstance(errors, str) and errors.strip() in said:
        errors = None
    block("Errors", errors)
    note = clock_skew_note(run)
    if note:
        lines.append(note)
    return "\n".join(lines).rstrip()


def _block(lines: list[str], title: str, text: Any) -> None:
    if not text:
        return
    if not isinstance(text, str):
        text = json.dumps(text, indent=2)
    lines.append(f"{title}:")
    lines.extend("  " + line for line in text.rstrip().splitlines())
    lines.append("")


def header(client: Client, run: dict) -> str:
    parts = [p for p in (run.get("participants") or []) if p]
    who = " and ".join(parts) or "?"
    tool = None
    try:
        task = client.get_json(run["task-href"]) if run.get("task-href") else {}
        tool = task.get("tool")
    except ServerError:
        task = {}
    text = f"{to_local(run.get('start-time'))} on {who}"
    if tool:
        text += f" with {tool}"
    return text + ":"


def formatted_result(client: Client, run: dict, mime: str) -> str:
    """The plugin-formatted result (``…/result?format=``), or the merged JSON."""
    if mime == "application/json":
        return dump_json(run.get("result-merged"))
    href = run.get("result-href") or (run.get("href", "") + "/result")
    try:
        return client.get_text(with_query(href, format=mime)).rstrip()
    except ServerError as exc:
        if exc.status == 404:
            return "No result available."
        return f"Unable to format result: {exc}"


def diags_text(run: dict) -> str:
    lines = []
    for number, result in enumerate(run.get("result-full") or []):
        parts = run.get("participants") or []
        host = parts[number] if number < len(parts) else f"participant {number}"
        diags = result.get("diags") if isinstance(result, dict) else None
        lines.append(f"Diagnostics from {host}:")
        lines.append("  " + (str(diags).rstrip().replace("\n", "\n  ") if diags else "(none)"))
    if run.get("limit-diags"):
        lines.append("Limit system diagnostics for this run:")
        lines.extend("  " + ln for ln in str(run["limit-diags"]).splitlines())
    note = clock_skew_note(run)
    if note:
        lines.append(note)
    return "\n".join(lines) or "No diagnostics."


def archivings_text(run: dict) -> str:
    archivings = run.get("archivings")
    if not archivings:
        return "No archivings."
    lines = []
    for item in archivings:
        spec = item.get("spec") or {}
        name = (item.get("archiver") or {}).get("name") or spec.get("archiver", "?")
        label = spec.get("label")
        status = (
            "Succeeded"
            if item.get("archived")
            else ("Failed" if item.get("completed") else "Pending")
        )
        lines.append(f"{name}{f' ({label})' if label else ''}: {status}")
        diags = item.get("diags") or []
        if isinstance(diags, list):
            for attempt in diags:
                if isinstance(attempt, dict):
                    when = to_local(attempt.get("time"))
                    word = "Succeeded" if attempt.get("return-code", 1) == 0 else "Failed"
                    word = "Succeeded" if attempt.get("succeeded") else word
                    extra = attempt.get("stderr") or attempt.get("error") or ""
                    lines.append(f"  {when} {word} {extra}".rstrip())
    return "\n".join(lines)


def render(
    client: Client,
    run: dict,
    fmt: str,
    diags: bool = False,
    archivings: bool = False,
    with_header: bool = False,
) -> tuple[str | None, Outcome]:
    """The text to print for a run in a format, and its outcome."""
    mime = FORMATS.get(fmt, "text/plain") if fmt else None
    result = outcome(run)
    if mime is None:
        return None, result
    if mime == "application/json":
        return dump_json(run.get("result-merged") if result.complete else None), result
    state = run.get("state")
    if not result.complete or state not in ("finished", "failed", "cleanup"):
        if mime == "text/html":
            return f"<p>{html.escape(result.reason)}</p>", result
        text = result.reason
        if result.complete and state != "nonstart":
            text += "\n" + failure_details(run)
        return text.rstrip(), result
    out = []
    if with_header:
        out.append(header(client, run))
    if result.succeeded or mime == "text/html":
        out.append(formatted_result(client, run, mime))
    else:
        out.append(result.reason)
        details = failure_details(run)
        if details:
            out.append(details)
    if diags and mime == "text/plain":
        out.append("")
        out.append(diags_text(run))
    if archivings and mime == "text/plain":
        out.append("")
        out.append("Archivings:")
        out.append(archivings_text(run))
    return "\n".join(out).rstrip(), result


def write_output(text: str | None, output: str | None, number: int) -> None:
    """Print, or write to ``output`` with ``%n`` replaced by the run number."""
    if text is None:
        return
    if output:
        path = output.replace("%n", str(number))
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        except OSError as exc:
            raise fail(f"Unable to write {path}: {exc.strerror}") from None
        return
    print(text, flush=True)
