"""Plans compared on common random numbers: paired differences, the files written, bad plans refused early."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.analysis.compare import BASELINE, compare
from simulator.analysis.summary import t95
from simulator.cli import main

ROOT = Path(__file__).resolve().parent.parent
STEADY = (ROOT / "scenarios" / "steady-state.yaml").read_text(encoding="utf-8")
PLANS = """
plans:
  same:
    description: sets the web pool to the workers it already has
    set:
      system.pools.web.workers: 12
  double:
    description: twice the web workers
    set:
      system.pools.web.workers: 24
"""
SMALL = ["audience.size=6k", "clock.horizon=10m"]  # 10 arrivals/s for 10 minutes: about a second a replication


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "steady-plans.yaml"
    path.write_text(STEADY + PLANS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def comparison(scenario):
    return compare(scenario, overrides=SMALL, replications=5)


def test_all_plans_run_after_the_baseline_with_the_same_seed_and_replications(comparison):
    assert list(comparison.results) == [BASELINE, "same", "double"]
    assert {(r.seed, len(r.replications)) for r in comparison.results.values()} == {(7, 5)}


def test_plan_that_changes_nothing_has_zero_paired_difference_on_every_figure(comparison):
    assert comparison.results["same"].replications == comparison.results[BASELINE].replications
    checked = 0
    for row in comparison.rows:
        diff = row.plans["same"]["diff"]
        if row.baseline["mean"] is None:  # e.g. never sold out: no difference to take
            assert diff["mean"] is None, row.figure
            continue
        assert diff["mean"] == 0 and diff["ci95"] == [0, 0], row.figure
        assert row.plans["same"]["significant"] is False, row.figure
        checked += 1
    assert checked >= 8
    assert comparison.difference("same", "pools.web.utilisation") == {"mean": 0.0, "ci95": [0.0, 0.0]}


def test_doubling_workers_halves_utilisation_with_a_paired_ci_narrower_than_unpaired(comparison):
    before = comparison.values(BASELINE, "pools.web.utilisation")
    after = comparison.values("double", "pools.web.utilisation")
    assert 0.75 < sum(before) / 5 < 0.88  # 10 erlangs on 12 workers
    diff = comparison.difference("double", "pools.web.utilisation")
    assert diff["mean"] == pytest.approx(-sum(before) / 5 / 2, rel=0.01)  # same work on twice the workers
    paired = (diff["ci95"][1] - diff["ci95"][0]) / 2

    def var(xs: list[float]) -> float:
        mean = sum(xs) / len(xs)
        return sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)

    unpaired = t95(4) * math.sqrt(var(before) / 5 + var(after) / 5)  # as if the runs were independent
    assert 0 < paired < 0.6 * unpaired


def test_rows_mark_a_significant_drop_in_queue_wait_with_twice_the_workers(comparison):
    rows = {row.figure: row for row in comparison.rows}
    wait = rows["pools.web.mean_wait"].plans["double"]
    assert wait["diff"]["mean"] < -0.05 and wait["diff"]["ci95"][1] < 0
    assert wait["significant"] is True
    assert rows["endpoints.product_page.latency_p99"].unit == "latency"
    assert "stock.item.sold_out_at" in rows and rows["stock.item.sold_out_at"].baseline["mean"] is None


# -- the command -----------------------------------------------------------------------------------------


def invoke(*args: str):
    result = CliRunner().invoke(main, ["compare", *args])
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_compare_writes_table_figures_page_and_each_plans_data(scenario, tmp_path):
    out = tmp_path / "cmp"
    result = invoke(
        str(scenario), "--plan", "double", "-r", "3", "--out", str(out), *(a for s in SMALL for a in ("--set", s))
    )
    assert result.exit_code == 0, result.stderr
    assert "double" in result.output and "Δ " in result.output and f"results: {out}" in result.output
    for name in (BASELINE, "double"):
        assert json.loads((out / name / "summary.json").read_text())["replications"] == 3
        assert (out / name / "timeseries.csv").exists()
    assert not (out / "same").exists()
    data = json.loads((out / "compare.json").read_text())
    assert data["seed"] == 7 and data["replications"] == 3 and list(data["plans"]) == ["double"]
    with open(out / "compare.csv", newline="") as f:
        rows = {row["figure"]: row for row in csv.DictReader(f)}
    assert len(rows) == len(data["figures"])
    peak = rows["pools.web.peak_workers"]
    assert (float(peak["baseline mean"]), float(peak["double mean"]), float(peak["double diff mean"])) == (12, 24, 12)
    assert float(rows["pools.web.mean_wait"]["double diff mean"]) < 0
    assert rows["pools.web.mean_wait"]["double significant"] == "true"
    page = (out / "compare.html").read_text()
    for stem in ("compare-traffic", "compare-queues", "compare-stock"):
        assert (out / f"{stem}.png").read_bytes().startswith(b"\x89PNG"), stem
        assert f"<a href='{stem}.png'>" in page and f'id="{stem}"' in page  # the image, and its chart
    assert "twice the web workers" in page and page.count("class='sig'") >= 3
    (out / "compare.html").unlink()  # drawn again from the files alone: the same table, the same charts
    again = CliRunner().invoke(main, ["report", str(out)])
    assert again.exit_code == 0, again.output
    redrawn = (out / "compare.html").read_text()
    table = page[page.index("<h2>Side by side</h2>") : page.index("<h2>Over time</h2>")]
    assert table in redrawn and redrawn.count("plotly-graph-div") == page.count("plotly-graph-div")
    assert (out / BASELINE / "report.html").exists() and f"report: {out / 'compare.html'}" in again.output


def test_compare_never_overwrites_an_existing_out(scenario, tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "compare.csv").write_text("keep", encoding="utf-8")
    result = invoke(str(scenario), "--out", str(out), "--no-figures")
    assert result.exit_code == 2
    assert "not empty" in result.stderr
    assert [p.name for p in out.iterdir()] == ["compare.csv"]
    assert (out / "compare.csv").read_text(encoding="utf-8") == "keep"


def test_unknown_plan_exits_2_with_one_line_naming_it(scenario, tmp_path):
    out = tmp_path / "cmp"
    result = invoke(str(scenario), "--plan", "double", "--plan", "waiting-room", "--out", str(out))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"{scenario}: plans: no plan 'waiting-room'; plans are double, same"]
    assert not out.exists()


def test_bad_plan_overlays_exit_2_with_one_located_line_each_before_any_run(tmp_path):
    text = (
        STEADY + PLANS + "  typo:\n    set:\n      system.pools.web.wrkers: 24\n"
        "  typo2:\n    set:\n      audience.sise: 5\n"
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    numbers = {
        key: text.splitlines().index(f"      {key}: {value}") + 1
        for key, value in (("system.pools.web.wrkers", 24), ("audience.sise", 5))
    }
    out = tmp_path / "cmp"
    result = invoke(str(path), "--out", str(out))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert re.fullmatch(
        rf"{re.escape(str(path))}:{numbers['system.pools.web.wrkers']}: system\.pools\.web\.wrkers: "
        r"unknown field; did you mean 'workers'\?",
        lines[0],
    )
    assert lines[1].startswith(f"{path}:{numbers['audience.sise']}: audience.sise: unknown field")
    assert not out.exists()


def test_scenario_without_plans_exits_2_saying_so(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text(STEADY, encoding="utf-8")
    result = invoke(str(path), "--out", str(tmp_path / "cmp"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"{path}: plans: the scenario has no plans to compare"]
    assert not (tmp_path / "cmp").exists()
