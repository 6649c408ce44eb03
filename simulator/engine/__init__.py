"""The queueing engine: the event calendar, pools of workers serving requests, recorders, random streams.

Queueing words only: nothing here knows a shop, a shopper or a scenario file.
"""

from __future__ import annotations

from simulator.engine.calendar import Answered, Engine, at, collector_paused, every_second
from simulator.engine.pools import Endpoint, Failure, Pool, Request
from simulator.engine.recorders import N_BUCKETS, WINDOW, Latencies, draw, percentile, series
from simulator.engine.resources import Cores, Holdable, SharedCore, Stages
from simulator.engine.streams import streams

__all__ = [
    "Answered",
    "at",
    "collector_paused",
    "Cores",
    "draw",
    "Endpoint",
    "Engine",
    "every_second",
    "Failure",
    "Holdable",
    "Latencies",
    "N_BUCKETS",
    "percentile",
    "Pool",
    "Request",
    "series",
    "SharedCore",
    "Stages",
    "streams",
    "WINDOW",
]
