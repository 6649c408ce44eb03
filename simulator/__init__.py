"""flashsim: a flash-sale and presale load simulator.

from simulator import load_scenario
from simulator import simulate
result = simulate(load_scenario("scenarios/xiaomi-thursday-flash.yaml"))
result.summary["endpoints"]["create_order"]["latency_p99"]
"""

from simulator.analysis.compare import Comparison, compare
from simulator.analysis.replications import RunResult, simulate
from simulator.analysis.sizing import Sizing, size
from simulator.scenario.loader import ScenarioError, load_scenario
from simulator.scenario.promotion import Scenario

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
