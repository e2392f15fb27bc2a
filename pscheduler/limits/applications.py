"""Applications: which limits apply to which classification, evaluated in file order until
one passes (overall pass) or one with ``stop-on-failure`` fails (overall fail)."""

from __future__ import annotations

from collections.abc import Callable

_GROUP_RULES = {
    "none": lambda passes, fails: passes == 0,
    "one": lambda passes, fails: passes == 1,
    "any": lambda passes, fails: passes > 0,
    "all": lambda passes, fails: fails == 0,
}


class ApplicationSet:
    def __init__(self, entries: list[dict], classifiers, limits, error: Callable[[str], Exception]):
        unknown_classifiers: list[str] = []
        unknown_limits: list[str] = []
        for app in entries:
            classifier = app.get("classifier")
            if (
                classifier is not None
                and classifier not in classifiers
                and classifier not in unknown_classifiers
            ):
                unknown_classifiers.append(classifier)
            for group in app["apply"]:
                for name in group["limits"]:
                    if name not in limits and name not in unknown_limits:
                        unknown_limits.append(name)
        problems = []
        if unknown_classifiers:
            problems.append(f"Unknown classifiers: {', '.join(unknown_classifiers)}")
        if unknown_limits:
            problems.append(f"Unknown limits: {', '.join(unknown_limits)}")
        if problems:
            raise error(".  ".join(problems))
        self.applications = entries
        self.limits = limits

    def _group(
        self, number: int, group: dict, proposal: dict, check_schedule: bool, diags: list[str]
    ) -> bool:
        passes = fails = 0
        for name in group["limits"]:
            passed, reasons = self.limits.check(name, proposal, check_schedule)
            if passed:
                passes += 1
                diags.append(f"  Group {number}: Limit '{name}' passed")
            else:
                fails += 1
                diags.append(f"  Group {number}: Limit '{name}' failed: {'; '.join(reasons)}")
        ok = _GROUP_RULES[group["require"]](passes, fails)
        total = len(group["limits"])
        diags.append(
            f"  Group {number}: Want {group['require']}, {passes}/{total} passed, "
            f"{fails}/{total} failed: {'PASS' if ok else 'FAIL'}"
        )
        return ok

    def check(
        self, proposal: dict, classifications: list[str], check_schedule: bool
    ) -> tuple[bool, list[str]]:
        """(passed, diagnostic lines) for the proposal; see spec/plugins.md section 8.8."""
        diags: list[str] = []
        for app in self.applications:
            classifier = app.get("classifier")
            if classifier is not None and classifier not in classifications:
                continue
            diags.append(f"Application: {app.get('description', '(No description)')}")
            passed = True
            for number, group in enumerate(app["apply"], start=1):
                if not self._group(number, group, proposal, check_schedule, diags):
                    passed = False
                    break
            invert = app.get("invert", False)
            if invert:
                passed = not passed
            diags.append(
                f"  Application {'PASSES' if passed else 'FAILS'}{' (Inverted)' if invert else ''}"
            )
            if passed:
                diags.append("Passed one application.  Stopping.")
                return True, diags
            if app.get("stop-on-failure", False):
                diags.append("Failed; stop forced")
                return False, diags
        if not diags:
            diags.append("No application applied.")
        return False, diags
