"""The phases of one request inside the shop, for its Server-Timing header.

A request's handler runs in its own asyncio task, so a context variable holds that request's phases: the
app counts the time it awaited the store (`store`); SQLite's store, one thread per process, splits it into
the time queued for that thread (`store_wait`) and the time the thread worked (`db`). What is left of
`store` is the wait for the event loop to resume the request: CPU contention in the process. They go out
beside `wait` (for a slot) and `app` (holding it), so calibration can see the structure of the server,
not only its response times.
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
