"""``StringMatch`` objects: ``{style: exact|contains|regex, match, case-insensitive?, invert?}``.

Unlike the original, ``case-insensitive`` works with ``regex`` too (it was passed to
``re.search`` as the start position).
"""

from __future__ import annotations

import re


class StringMatcher:
    """A compiled StringMatch; ``matches(text)`` applies style, case and invert."""

    def __init__(self, spec: dict):
        self.style = spec["style"]
        self.invert = bool(spec.get("invert", False))
        self.nocase = bool(spec.get("case-insensitive", False))
        self.match = spec["match"]
        if self.style == "regex":
            try:
                self.regex = re.compile(self.match, re.IGNORECASE if self.nocase else 0)
            except re.error as exc:
                raise ValueError(f"Invalid regular expression '{self.match}': {exc}") from None
        elif self.nocase:
            self.match = self.match.lower()

    def _raw(self, text: str) -> bool:
        if self.style == "regex":
            return self.regex.search(text) is not None
        if self.nocase:
            text = text.lower()
        if self.style == "exact":
            return text == self.match
        return self.match in text

    def matches(self, text: object) -> bool:
        return self._raw(str(text)) != self.invert
