"""flashsim: a flash-sale and presale load simulator.

from simulator import load_scenario
from simulator import simulate
result = simulate(load_scenario("scenarios/xiaomi-thursday-flash.yaml"))
result.summary["endpoints"]["create_order"]["latency_p99"]
"""

from simulator.analysis import Comparison, RunResult, Sizing, compare, simulate, size
from simulator.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "Comparison",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Sizing",
    "compare",
    "load_scenario",
    "simulate",
    "size",
]
