"""Words the server and the CLI share: run states and scheduling classes, in one place."""

from __future__ import annotations

# Scheduling classes whose runs may happen at any time (no exclusive slot on the timeline).
ANYTIME = ("background", "background-multi")
