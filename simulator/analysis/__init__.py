"""Replications and what is read from them: statistics, plan comparison, sizing, calibration, theory."""

from __future__ import annotations

from simulator.analysis.calibration import JUDGED, MIN_JUDGED, NOISE_SDS, SMALL_SHARE, Validation
from simulator.analysis.compare import BASELINE, Comparison, Row, compare, load_plans, run_plans
from simulator.analysis.loadtest import PARTS, collect, locust_stats, read_meta, saturated_seconds
from simulator.analysis.replications import RunResult, simulate
from simulator.analysis.search import Evaluation, Sizing
from simulator.analysis.sizing import size

__all__ = [
    "BASELINE",
    "collect",
    "compare",
    "Comparison",
    "JUDGED",
    "MIN_JUDGED",
    "NOISE_SDS",
    "SMALL_SHARE",
    "load_plans",
    "locust_stats",
    "PARTS",
    "read_meta",
    "Row",
    "run_plans",
    "saturated_seconds",
    "RunResult",
    "simulate",
    "size",
    "Sizing",
    "Evaluation",
    "Validation",
]
