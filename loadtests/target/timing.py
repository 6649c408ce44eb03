"""The phases of one request inside the shop, for its Server-Timing header.

A request's handler runs in its own asyncio task, so a context variable holds that request's phases: the
store adds the time it waited for its connection (`store_wait`, SQLite's one thread per process) and the
time the store took (`store`), and the app sends them beside `wait` (for a slot) and `app` (holding it).
Calibration reads them to see the structure of the server, not only its response times.
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
