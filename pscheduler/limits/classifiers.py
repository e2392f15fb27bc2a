"""Classifiers: named groups of identifiers with a ``require`` rule (schema 4), so that
applications can say "for these people"."""

from __future__ import annotations

from collections.abc import Callable

_RULES = {
    "any": lambda hits, total: hits >= 1,
    "all": lambda hits, total: hits == total,
    "one": lambda hits, total: hits == 1,
    "none": lambda hits, total: hits == 0,
}


class ClassifierSet:
    """Classifiers in file order; ``classifications(identified)`` -> names that apply."""

    def __init__(self, entries: list[dict], identifiers, error: Callable[[str], Exception]):
        self.entries: list[tuple[str, list[str], str]] = []
        seen, unknown = set(), []
        for entry in entries:
            if entry["name"] in seen:
                raise error(f"Duplicate classifier '{entry['name']}'")
            seen.add(entry["name"])
            for ident in entry["identifiers"]:
                if ident not in identifiers and ident not in unknown:
                    unknown.append(ident)
            self.entries.append(
                (entry["name"], list(entry["identifiers"]), entry.get("require", "any"))
            )
        if unknown:
            raise error(f"Unknown identifiers: {', '.join(unknown)}")

    def __contains__(self, name: str) -> bool:
        return any(n == name for n, _, _ in self.entries)

    def classifications(self, identified: list[str]) -> list[str]:
        found = set(identified)
        return [
            name
            for name, idents, require in self.entries
            if _RULES[require](sum(1 for i in idents if i in found), len(idents))
        ]
