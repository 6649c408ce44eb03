"""flashsim: a flash-sale and presale load simulator.

    from simulator import load_scenario, simulate
    result = simulate(load_scenario("scenarios/xiaomi-thursday-flash.yaml"))
    result.summary["endpoints"]["create_order"]["latency_p99"]

This is the package's one face: the names below are the public API (README, "From Python"); everything
else is reached through the layers' own faces (simulator.scenario, .engine, .model, .analysis, .output).
"""

from importlib.metadata import PackageNotFoundError, version

from simulator.analysis import Comparison, RunResult, Sizing, compare, simulate, size
from simulator.scenario import Scenario, ScenarioError, load_scenario

try:
    __version__ = version("flashsim")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Comparison",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Sizing",
    "__version__",
    "compare",
    "load_scenario",
    "simulate",
    "size",
]
