"""Scenario files: the typed, immutable description of one promotion, and the one gate it passes.

Everything a run needs is parsed here (human units to seconds and counts) and checked before a run
starts, every problem named as `file:line: path.to.field: message`; the layers above trust what they get.
Imports only the bottom layer (units, distributions).
"""

from __future__ import annotations

from simulator.scenario.audience import Arrivals, Behaviour, Funnel
from simulator.scenario.contingency import ErrorRate, QueueLength, Rule, When
from simulator.scenario.fulfilment import Fulfilment
from simulator.scenario.incidents import Incident
from simulator.scenario.loader import Problem, ScenarioError, load_saved, load_scenario, plan_names, scenario_schema
from simulator.scenario.loadtest import UNSAFE, BodyMatch, HttpStep, answer_statuses, fill, read_path, requests_of
from simulator.scenario.pricing import Coupon, Pricing
from simulator.scenario.promotion import Scenario
from simulator.scenario.promotions import Presale, RedPacketRain, WaitingRoom
from simulator.scenario.scaling import scaled
from simulator.scenario.shop import EndpointSpec, PoolSpec, Sale, Sku
from simulator.scenario.support import SOURCES, TEAMS, Support, shifts_on

__all__ = [
    "EndpointSpec",
    "PoolSpec",
    "answer_statuses",
    "Arrivals",
    "Behaviour",
    "BodyMatch",
    "Coupon",
    "ErrorRate",
    "fill",
    "Fulfilment",
    "Funnel",
    "HttpStep",
    "Incident",
    "read_path",
    "requests_of",
    "UNSAFE",
    "load_saved",
    "load_scenario",
    "plan_names",
    "Presale",
    "Pricing",
    "Problem",
    "QueueLength",
    "RedPacketRain",
    "Rule",
    "Sale",
    "scaled",
    "Scenario",
    "scenario_schema",
    "ScenarioError",
    "Sku",
    "shifts_on",
    "SOURCES",
    "Support",
    "TEAMS",
    "WaitingRoom",
    "When",
]
