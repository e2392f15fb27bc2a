"""The limit processor: load a limit file, then judge proposals against it.

``load(text_or_path)`` builds a ``LimitProcessor`` or raises ``LimitConfigError`` with the
original's load-error texts; ``LimitProcessor.process()`` returns a ``Verdict`` whose
``diags`` follow spec/plugins.md section 8.10.  ``inert()`` is the processor used when there
is no limit file: everything passes.
"""

from __future__ import annotations

import dataclasses
import re
import traceback
from pathlib import Path

from pscheduler.limits.applications import ApplicationSet
from pscheduler.limits.classifiers import ClassifierSet
from pscheduler.limits.fetch import http_get
from pscheduler.limits.identifiers import IdentifierSet
from pscheduler.limits.jqscript import JqError
from pscheduler.limits.limitset import LimitSet
from pscheduler.limits.prioritizer import Prioritizer, PriorityError
from pscheduler.limits.rewriter import RewriteError, Rewriter
from pscheduler.limits.schemas import SUPPORTED_VERSIONS, configuration
from pscheduler.limits.testlimit import Checker
from pscheduler.toolkit import json_load, schema_error

NO_LIMITS = "No limits were applied"
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


class LimitConfigError(ValueError):
    """The limit configuration cannot be used; the message says why, for a person."""


@dataclasses.dataclass
class Verdict:
    """The outcome of one evaluation.

    ``task`` is the task to use from now on: the rewritten task when the rewriter really
    changed it (``rewritten`` is then True), else the task as given.  ``priority`` is None
    only from the inert processor.
    """

    passed: bool
    diags: str
    task: dict
    priority: int | None = None
    rewritten: bool = False


def _read_source(text_or_path: str | Path) -> str:
    if isinstance(text_or_path, Path):
        try:
            return text_or_path.read_text()
        except (OSError, UnicodeError) as exc:
            raise LimitConfigError(f"Unable to read limit configuration: {exc}") from None
    text = text_or_path
    stripped = text.strip()
    if stripped.startswith(("{", "[")) or _URL_RE.match(stripped) or "\n" in stripped:
        return text
    try:
        return Path(text).read_text()
    except (OSError, UnicodeError) as exc:
        raise LimitConfigError(f"Unable to read limit configuration: {exc}") from None


def _fetch_if_url(text: str) -> str:
    """A file holding only a URL is replaced by what that URL serves."""
    url = text.strip()
    if not _URL_RE.match(url):
        return text
    try:
        response = http_get(url, timeout=30)
    except Exception as exc:
        raise LimitConfigError(f"Unable to load limit configuration from {url}: {exc}") from None
    if response.status_code != 200:
        raise LimitConfigError(
            f"Unable to load limit configuration from {url}: Status {response.status_code}"
        )
    return response.text


def parse_config(text: str) -> dict:
    """The validated configuration object of a limit file's text."""
    try:
        config = json_load(text)
    except ValueError as exc:
        raise LimitConfigError(f"Invalid limit configuration: {exc}") from None
    if not isinstance(config, dict):
        raise LimitConfigError("Invalid limit configuration: must be a JSON object")
    version = config.get("schema", 1)
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        raise LimitConfigError(
            f"Invalid limit configuration: At /schema: schema {json_dump_short(version)} is not supported "
            f"(this version understands {SUPPORTED_VERSIONS[0]} to {SUPPORTED_VERSIONS[-1]})"
        )
    problem = schema_error(configuration(version), config)
    if problem:
        raise LimitConfigError(f"Invalid limit configuration: {problem}")
    return config


def json_dump_short(value) -> str:
    return repr(value) if not isinstance(value, str) else f"'{value}'"


class LimitProcessor:
    """A loaded limit configuration (or an inert one when ``config`` is None)."""

    def __init__(self, config: dict | None, test_checker: Checker | None = None):
        self.inert = config is None
        if self.inert:
            return
        error = LimitConfigError
        self.identifiers = IdentifierSet(config["identifiers"], error)
        self.classifiers = ClassifierSet(config["classifiers"], self.identifiers, error)
        self.limits = LimitSet(config["limits"], error, test_checker)
        self.applications = ApplicationSet(
            config["applications"], self.classifiers, self.limits, error
        )
        try:
            self.rewriter = Rewriter(config["rewrite"]) if "rewrite" in config else None
        except JqError as exc:
            raise LimitConfigError(f"Invalid rewriter: {exc}") from None
        try:
            self.prioritizer = Prioritizer(config["priority"]) if "priority" in config else None
        except JqError as exc:
            raise LimitConfigError(f"Invalid prioritizer: {exc}") from None

    @property
    def has_rewriter(self) -> bool:
        return not self.inert and self.rewriter is not None

    def process(
        self, task: dict, hints: dict | None, rewrite: bool = True, prioritize: bool = False
    ) -> Verdict:
        """Judge ``task`` (with ``run_schedule`` when a run time is proposed) for ``hints``.

        Never raises: a failure inside becomes a failed verdict that says so.
        """
        if self.inert:
            return Verdict(True, NO_LIMITS, task, None)
        try:
            return self._process(task, hints or {}, rewrite, prioritize)
        except Exception:
            diags = (
                "Failed to process limits: processor threw an exception.\n\n"
                + traceback.format_exc().rstrip()
                + "\n\nPlease report this as a bug."
            )
            return Verdict(False, diags, task, None)

    def _process(self, task: dict, hints: dict, rewrite: bool, prioritize: bool) -> Verdict:
        diags: list[str] = []

        def verdict(
            passed: bool, new_task: dict = task, priority: int | None = None, rewritten=False
        ) -> Verdict:
            return Verdict(passed, "\n".join(diags), new_task, priority, rewritten)

        if hints:
            diags.append("Hints:")
            diags.extend(f"  {key}: {hints[key]}" for key in sorted(hints))

        identified, ident_diags = self.identifiers.identities(hints)
        if ident_diags:
            diags.append("Identifier diagnostics:")
            diags.extend(ident_diags)
        if not identified:
            diags.append("Made no identifications.")
            return verdict(False)
        diags.append(f"Identified as {', '.join(identified)}")

        classified = self.classifiers.classifications(identified)
        if not classified:
            diags.append("Made no classifications.")
            return verdict(False)
        diags.append(f"Classified as {', '.join(classified)}")

        proposal = {"task": task, "hints": hints}
        rewritten = False
        if self.rewriter is not None and rewrite:
            try:
                rewritten, new_task, messages = self.rewriter(task, hints, classified)
            except RewriteError as exc:
                diags.append(f"Error while rewriting: {exc}")
                return verdict(False)
            if rewritten:
                diags.append("Rewriter made changes:")
                diags.extend(f"  {m}" for m in messages or ["(Not enumerated)"])
                proposal["task"] = new_task

        passed, app_diags = self.applications.check(
            proposal, classified, "run_schedule" in proposal["task"]
        )
        diags.extend(app_diags)
        diags.append(f"Proposal {'meets' if passed else 'does not meet'} limits")

        priority = 0
        if prioritize and passed and self.prioritizer is not None:
            try:
                priority, notes = self.prioritizer(proposal["task"], classified)
            except PriorityError as exc:
                diags.append(f"Error determining priority: {exc}")
                return verdict(False, proposal["task"], None, rewritten)
            requested = proposal["task"].get("priority")
            asked = f" {requested} requested," if requested is not None else ""
            diags.append(f"Priority{asked} set at {priority}{':' if notes else '.'}")
            diags.extend(f"  {n}" for n in notes)
        else:
            diags.append(f"Priority set to default of {priority}")
        return verdict(passed, proposal["task"], priority, rewritten)


def inert() -> LimitProcessor:
    """The processor for "no limit file": passes everything, ``No limits were applied``."""
    return LimitProcessor(None)


def load(text_or_path: str | Path, test_checker: Checker | None = None) -> LimitProcessor:
    """Build a processor from a file path, a ``Path``, the JSON text itself, or a URL.

    Raises LimitConfigError with a readable message when the configuration is unusable.
    """
    text = _fetch_if_url(_read_source(text_or_path))
    return LimitProcessor(parse_config(text), test_checker)
