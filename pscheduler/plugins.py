"""The plugin manager: loads every ``pscheduler`` entry point and keeps plugins by name.

Calls into plugins go through ``call`` so that a plugin that raises gives an error for that
one call (``PluginFailure``) and never takes the process down.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import pluggy

from pscheduler import hookspecs
from pscheduler.hookspecs import Archiver, Context, PluginError, Test, Tool
from pscheduler.toolkit.jsonval import schema_error

log = logging.getLogger(__name__)


class PluginFailure(Exception):
    """A plugin crashed or returned something unusable; the message says which and why."""


@dataclass
class Registry:
    tests: dict[str, Test] = field(default_factory=dict)
    tools: dict[str, Tool] = field(default_factory=dict)
    archivers: dict[str, Archiver] = field(default_factory=dict)
    contexts: dict[str, Context] = field(default_factory=dict)

    def kind(self, kind: str) -> dict[str, Any]:
        return {
            "test": self.tests,
            "tool": self.tools,
            "archiver": self.archivers,
            "context": self.contexts,
        }[kind]


def make_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.load_setuptools_entrypoints(hookspecs.PROJECT)
    if os.environ.get("PSCHEDULER_TRACE_PLUGINS"):
        manager.trace.root.setwriter(lambda text: log.debug("pluggy: %s", text.rstrip()))
        manager.enable_tracing()
    return manager


def build_registry(manager: pluggy.PluginManager) -> Registry:
    registry = Registry()
    hooks = (
        (manager.hook.pscheduler_tests, registry.tests, Test),
        (manager.hook.pscheduler_tools, registry.tools, Tool),
        (manager.hook.pscheduler_archivers, registry.archivers, Archiver),
        (manager.hook.pscheduler_contexts, registry.contexts, Context),
    )
    for hook, target, cls in hooks:
        try:
            batches = hook()
        except Exception:  # noqa: BLE001 - one bad package must not hide the others
            log.exception("A plugin package failed to register")
            continue
        for batch in batches:
            for plugin in batch or []:
                if not isinstance(plugin, cls):
                    log.error("Ignoring %r: not a %s", plugin, cls.__name__)
                    continue
                name = plugin.enumeration.get("name")
                if name in target:
                    log.warning("Duplicate %s plugin %r; keeping the first", cls.__name__, name)
                    continue
                target[name] = plugin
    return registry


_lock = threading.Lock()
_registry: Registry | None = None


def registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = build_registry(make_manager())
            log.debug(
                "Plugins: tests=%s tools=%s archivers=%s contexts=%s",
                sorted(_registry.tests),
                sorted(_registry.tools),
                sorted(_registry.archivers),
                sorted(_registry.contexts),
            )
        return _registry


def call(plugin: Any, method: str, *args: Any) -> Any:
    """Call ``plugin.method(*args)``; PluginError passes through, anything else becomes
    PluginFailure with a short message (the traceback goes to the log)."""
    func = getattr(plugin, method)
    try:
        return func(*args)
    except PluginError:
        raise
    except Exception as exc:  # noqa: BLE001
        log.exception("%s plugin %r failed in %s", type(plugin).__name__, plugin.name, method)
        raise PluginFailure(f"{type(exc).__name__}: {exc}") from exc


def spec_is_valid(test: Test, spec: Any) -> dict:
    """A test's verdict on a spec, from its own method or its JSON Schema."""
    if test.spec_is_valid is not None:
        verdict = call(test, "spec_is_valid", spec)
    else:
        error = schema_error(test.spec_schema, spec)
        verdict = {"valid": True} if error is None else {"valid": False, "error": error}
    if not isinstance(verdict, dict) or not isinstance(verdict.get("valid"), bool):
        raise PluginFailure(f"Test {test.name} returned a bad validation verdict")
    return verdict


def data_is_valid(plugin: Archiver | Context, data: Any) -> dict:
    """An archiver's or context's verdict on its data, from its method or its schema."""
    if plugin.data_is_valid is not None:
        verdict = call(plugin, "data_is_valid", data)
    elif plugin.data_schema is not None:
        error = schema_error(plugin.data_schema, data)
        verdict = {"valid": True} if error is None else {"valid": False, "error": error}
    else:
        verdict = {"valid": True}
    if not isinstance(verdict, dict) or not isinstance(verdict.get("valid"), bool):
        raise PluginFailure(f"{plugin.name} returned a bad validation verdict")
    return verdict


def can_run(tool: Tool, test: dict) -> dict:
    """A tool's can-run verdict; a crash is a 'no' with a reason, never an exception."""
    if test.get("type") not in tool.enumeration.get("tests", []):
        return {"can-run": False, "reasons": ["Unsupported test type"]}
    if tool.can_run is None:
        return {"can-run": True}
    try:
        verdict = call(tool, "can_run", test)
    except PluginError as exc:
        return {"can-run": False, "reasons": [str(exc)]}
    except PluginFailure:
        return {"can-run": False, "reasons": ["Failed can-run; see system logs."]}
    if not isinstance(verdict, dict) or not isinstance(verdict.get("can-run"), bool):
        return {"can-run": False, "reasons": ["Failed can-run; see system logs."]}
    return verdict


def merged_results(tool: Tool, test: dict, results: list) -> dict:
    """The tool's merge of every participant's result; the lead's result by default."""
    if tool.merged_results is None:
        first = results[0] if results else None
        return first if isinstance(first, dict) else {"succeeded": False, "error": "No result"}
    return call(tool, "merged_results", test, results)
