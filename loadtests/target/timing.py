"""The phases of one request inside the shop, for its Server-Timing header.

A request's handler runs in its own asyncio task, so a context variable holds that request's phases: the
app counts the time it awaited the store (`store`), which the store splits into the time queued for a
connection (`store_wait`: SQLite's one thread per process, one of Redis's pool) and the time holding it
(`db`: SQLite's thread at work; a Redis command's round trip and the loop's delay in reading its reply).
What is left of `store` is the wait for the event loop to resume the request: CPU contention in the
process. They go out beside `wait` (for a slot) and `app` (holding it), so calibration can see the
structure of the server, not only its response times.
"""

from __future__ import annotations

from contextvars import ContextVar

PHASES: ContextVar[dict[str, float] | None] = ContextVar("phases", default=None)
"""Seconds per phase of the request being served, or None outside a request."""


def add(phase: str, seconds: float) -> None:
    """Count `seconds` more of `phase` for the request being served (nothing outside a request)."""
    phases = PHASES.get()
    if phases is not None:
        phases[phase] = phases.get(phase, 0.0) + seconds
