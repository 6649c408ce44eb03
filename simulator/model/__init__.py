"""One replication of a promotion: the world, the shopper journey, demand, stock, and each feature
in its own module, plugged into the core through the World's hooks and wired in `replication.py`.
"""

from __future__ import annotations

from simulator.model.demand import Shoppers, curves
from simulator.model.outcomes import OUTCOMES
from simulator.model.replay import Replay, load_replay
from simulator.model.replication import simulate_once
from simulator.model.world import kept_share

__all__ = [
    "curves",
    "kept_share",
    "load_replay",
    "OUTCOMES",
    "Replay",
    "Shoppers",
    "simulate_once",
]
