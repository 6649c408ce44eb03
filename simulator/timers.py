"""Timers: a plain callback at a moment of simulated time, without a process behind it."""

from __future__ import annotations

from collections.abc import Callable

from simpy import Environment, Event
from simpy.core import NORMAL


def at(env: Environment, t: float, callback: Callable[[Event], None]) -> Event:
    """Call `callback(event)` at time `t` (now if `t` has passed); the returned event is the timer."""
    event = Event(env)
    event._ok = True
    event.callbacks.append(callback)
    env.schedule(event, NORMAL, max(0.0, t - env._now))
    return event
