"""The model against the reference shop as it naturally runs: calibrated on one load level, validated on
another it never saw (benchmarks/natural_shop.py runs four levels; README gives its figures).

What holds at every level measured, and is asserted here: the throughput of each endpoint answering 100
requests or more, and the shoppers' outcomes. What does not yet hold is the tails: p95 is off by up to 2x
near saturation (README, docs/model.md), so it is reported by validate and not asserted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.analysis import calibration
from simulator.cli import main

pytestmark = pytest.mark.slow  # real server processes and load tests: the slow tier

THURSDAY = "scenarios/xiaomi-thursday-flash.yaml"
WINDOW = ("--set", "clock.start=19:59:30")  # from 30 s before the open: the surge and the sell-out
SHOP = ("--page-items", "2000", "--speedup", "3", *WINDOW)  # a page that costs CPU: the shop, not Locust, is loaded


def level(start_shop, tmp_path: Path, scale: str) -> Path:
    shop = start_shop(f"sqlite:///{tmp_path / f'shop-{scale}.sqlite'}", "--scenario", THURSDAY, "--scale", scale, *SHOP)
    out = tmp_path / f"level-{scale}"
    args = ["loadtest", THURSDAY, "--host", shop.url, "--scale", scale, "--speedup", "3", "--run-time", "40s"]
    result = CliRunner().invoke(main, [*args, *WINDOW, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "loadtest"


def test_calibrated_on_one_level_the_model_predicts_another_levels_throughput_and_outcomes(start_shop, tmp_path):
    seen, unseen = level(start_shop, tmp_path, "0.001"), level(start_shop, tmp_path, "0.002")
    overlay = tmp_path / "calibration.yaml"
    result = CliRunner().invoke(main, ["calibrate", "--structure", "--from", str(seen), "--out", str(overlay)])
    assert result.exit_code == 0 and "bottleneck: the CPU" in result.output, result.output

    validation = calibration.validate(Path(THURSDAY), unseen, replications=3, overlays=(overlay,))
    busy = [row for row in validation.rows if row.count >= 100]  # create_order's few dozen miss by up to 27%
    assert {row.step for row in busy} >= {"token", "product_page", "buy"}
    for row in busy:
        error = row.error("throughput")
        assert error is not None and abs(error) <= 0.15, (row.step, row.measured, row.predicted)
        assert row.predicted["p95"] is not None and row.measured["p95"] is not None
    assert {share.name for share in validation.shares} == set(calibration.JUDGED_OUTCOMES)
    for share in validation.shares:
        assert share.within(0.15), share
