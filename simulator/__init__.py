"""flashsim: a flash-sale and presale load simulator.

    from simulator import load_scenario, simulate
    result = simulate(load_scenario("scenarios/xiaomi-thursday-flash.yaml"))
    result.summary["endpoints"]["create_order"]["latency_p99"]
"""

from simulator.compare import Comparison, compare
from simulator.runner import RunResult, simulate
from simulator.scenario import Scenario, ScenarioError, load_scenario
from simulator.sizing import Sizing, size

__all__ = ["Comparison", "RunResult", "Scenario", "ScenarioError", "Sizing", "compare", "load_scenario", "simulate",
           "size"]
