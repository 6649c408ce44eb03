"""The pages in a real browser (Debian's headless Chromium, driven by Playwright): no console error, no request
leaving the machine, every chart drawn; a screenshot of each is kept in results/test-pages/. And the weight of a
one-day scenario's page."""

from __future__ import annotations

from pathlib import Path

from simulator import compare, load_scenario, simulate, size
from simulator.output import compare_report, report, sizing_report, write_comparison, write_data
from tests.conftest import opened

ROOT = Path(__file__).resolve().parent.parent
THURSDAY = ROOT / "scenarios" / "xiaomi-thursday-flash.yaml"


def test_the_run_page_draws_every_chart_offline_with_no_error(browser, tmp_path):
    result = simulate(load_scenario(THURSDAY, ["audience.size=20k", "clock.horizon=20m"]), replications=1)
    write_data(tmp_path, result)
    report.write_report(tmp_path, result)
    seen = opened(browser, tmp_path / "report.html", "report")
    assert seen["errors"] == [] and seen["away"] == []
    assert seen["charts"] >= 4 and seen["drawn"] == seen["charts"]  # horizon, latency, stock and the open


def test_the_compare_and_sizing_pages_draw_offline_with_no_error(browser, tmp_path):
    comparison = compare(THURSDAY, ["waiting-room"], overrides=["audience.size=20k", "clock.horizon=20m"],
                         replications=2, jobs=1)  # fmt: skip
    write_comparison(tmp_path / "cmp", comparison)
    compare_report.write_report(tmp_path / "cmp", comparison)
    seen = opened(browser, tmp_path / "cmp" / "compare.html", "compare")
    assert seen["errors"] == [] and seen["away"] == []
    assert seen["charts"] >= 4 and seen["drawn"] == seen["charts"]  # around the open, traffic, queues, stock

    found = size(load_scenario(ROOT / "scenarios" / "steady-state.yaml", ["audience.size=2k"]), "servers",
                 replications=2, jobs=1)  # fmt: skip
    (tmp_path / "size").mkdir()
    sizing_report.write(tmp_path / "size", found, [], None)
    seen = opened(browser, tmp_path / "size" / "sizing.html", "sizing")
    assert seen["errors"] == [] and seen["away"] == [] and seen["charts"] == seen["drawn"] == 1  # the search


def test_a_one_day_promotions_page_weighs_under_10_mb(tmp_path):
    scenario = load_scenario(ROOT / "scenarios" / "double11.yaml", ["audience.size=4k", "presale.expected_deposits=600",
                             "presale.units=500"])  # fmt: skip
    result = simulate(scenario, replications=1)
    write_data(tmp_path, result)
    report.write_report(tmp_path, result)
    weight = (tmp_path / "report.html").stat().st_size
    assert weight < 10_000_000, weight
    assert (tmp_path / "report.html").read_text().count('class="plotly-graph-div"') > 20  # the day's moments too
