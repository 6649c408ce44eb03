"""Figures, HTML page and terminal table of a small run."""

from pathlib import Path

import pytest
from rich.console import Console

from simulator import load_scenario, simulate
from simulator.output.data import write_data
from simulator.output.moments import moments
from simulator.output.plotting import by_column
from simulator.output.report import FIGURES, summary_table, write_report

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    scenario = load_scenario(
        ROOT / "scenarios" / "xiaomi-thursday-flash.yaml", ["audience.size=20k", "clock.horizon=20m"]
    )
    result = simulate(scenario)
    directory = tmp_path_factory.mktemp("run")
    write_data(directory, result)
    write_report(directory, result)
    return directory, result


def test_writes_four_valid_pngs(run):
    directory, _ = run
    for stem in ["traffic", "latency", "stock", "outcomes"]:
        data = (directory / f"{stem}.png").read_bytes()
        assert data.startswith(PNG), stem
        assert len(data) > 10_000, stem


def test_html_names_the_scenario_shows_figures_and_targets(run):
    directory, result = run
    page = (directory / "report.html").read_text()
    assert f"<title>{result.scenario.name}</title>" in page
    for stem in FIGURES:  # the four of every run; a waiting room, rains or a presale add theirs
        shown = f"<a href='{stem}.png'>" in page
        assert shown == (directory / f"{stem}.png").exists(), stem
        assert shown or stem not in ("traffic", "latency", "stock", "outcomes")
    assert result.summary["targets"]
    for target in result.summary["targets"]:
        assert target["target"] in page
    met = sum(t["met"] for t in result.summary["targets"])
    assert page.count("class='met'") == met
    assert page.count("class='missed'") == len(result.summary["targets"]) - met


def test_the_open_is_drawn_at_the_scale_of_seconds_and_its_surge_queue_and_sell_out_fall_inside(run):
    directory, result = run
    opens = result.scenario.sales[0].open
    first = moments(result.scenario, result.summary)[0]
    assert (first.start, first.end) == (opens - 10, opens + 30)  # 19:59:50-20:00:30
    page = (directory / "report.html").read_text()
    assert "<a href='moment-01.png'>" in page and "19:59:50-20:00:30: open of thursday-flash" in page
    assert (directory / "moment-01.png").read_bytes().startswith(PNG)
    header, rows = result.timeseries
    cols = by_column(header, rows)
    inside = (cols["second"] >= first.start) & (cols["second"] <= first.end)
    arrivals = cols["shoppers.arrivals"]
    assert arrivals[inside].max() > 100 * arrivals[~inside].max()  # the surge
    assert cols["pool.order.queue"][inside].max() > 100  # the queue
    stock = cols["stock.flagship-phone.available"][inside]
    assert stock[0] == 1000 and stock[-1] == 0  # the sell-out


def test_report_draws_a_finished_run_again_from_its_data_files_alone(run, tmp_path):
    import shutil

    import numpy as np
    from click.testing import CliRunner
    from PIL import Image

    from simulator.cli import main

    directory, _ = run
    again = tmp_path / "again"
    again.mkdir()
    for name in ("summary.json", "scenario.json", "timeseries.csv", "latency.csv"):
        shutil.copy(directory / name, again / name)
    result = CliRunner().invoke(main, ["report", str(again)])
    assert result.exit_code == 0, result.output
    assert (again / "report.html").read_text() == (directory / "report.html").read_text()
    for figure in ("traffic.png", "latency.png", "stock.png", "outcomes.png", "moment-01.png"):
        drawn, first = (np.asarray(Image.open(d / figure)) for d in (again, directory))
        assert drawn.shape == first.shape and (drawn == first).all(), figure
    empty = CliRunner().invoke(main, ["report", str(tmp_path / "nothing")])
    assert empty.exit_code == 2 and "no run, comparison or sizing here" in empty.output


def test_summary_table_renders_endpoints_and_units_sold(run):
    _, result = run
    summary = result.summary
    console = Console(record=True, width=160)
    console.print(summary_table(summary))
    text = console.export_text()
    for name in summary["endpoints"]:
        assert name in text
    for pool in summary["pools"]:
        assert pool in text
    for sku, stock in summary["stock"].items():
        sold, initial = stock["sold"]["mean"], stock["initial"]["mean"]
        assert f"{sold:,.0f} / {initial:,.0f}" in text, sku
    arrivals = summary["shoppers"]["arrivals"]["mean"]
    assert f"{arrivals:,.0f}" in text
    assert "met" in text or "missed" in text


def test_confidence_half_width_and_missing_values_are_shown():
    from simulator.output.plotting import fmt

    assert fmt({"mean": 1000.0, "ci95": [900.0, 1100.0]}) == "1,000 ± 100"
    assert fmt({"mean": 0.25, "ci95": [0.2, 0.3]}, 100, 1, "%") == "25.0 ± 5.0%"
    assert fmt({"mean": 7.0, "ci95": [7.0, 7.0]}) == "7"
    assert fmt({"mean": None, "ci95": None, "missing": 1}) == "-"
