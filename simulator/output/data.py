"""Data files of a run and of a comparison: summary.json, timeseries.csv, latency.csv and their kin."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulator.analysis import BASELINE, Comparison, Row, RunResult
from simulator.scenario import Scenario, load_saved
from simulator.units import format_clock


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 6)


def write_data(directory: Path, result: RunResult) -> None:
    """summary.json, timeseries.csv and latency.csv: the data every figure and script reads; scenario.json,
    the scenario as run (every value resolved), so `flashsim report` can draw them again."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "scenario.json").write_text(result.scenario.model_dump_json(indent=2) + "\n")
    (directory / "summary.json").write_text(json.dumps(result.summary, indent=2, allow_nan=False) + "\n")
    header, rows = result.timeseries
    start = result.scenario.clock.start_time
    with open(directory / "timeseries.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([header[0], "clock", *header[1:]])
        for row in rows:  # a row at a time: a day of seconds x many columns is millions of numbers
            second, *values = row.tolist()
            writer.writerow([int(second), format_clock(start, second), *map(_number, values)])
    with open(directory / "latency.csv", "w", newline="") as f:
        fields = ["endpoint", "start", "clock", "served", "p50", "p95", "p99"]
        windows = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        windows.writeheader()
        for row in result.latency:
            windows.writerow({**row, "clock": format_clock(start, row["start"])})


@dataclass(frozen=True)
class SavedRun:
    """A finished run read back from its directory: what its figures and page are drawn from."""

    scenario: Scenario
    summary: dict[str, Any]
    timeseries: tuple[list[str], np.ndarray]
    latency: list[dict[str, Any]]


def read_run(directory: Path) -> SavedRun:
    """The run written by write_data in `directory`; ScenarioError or OSError where it cannot be read."""
    scenario = load_saved(directory / "scenario.json")
    summary = json.loads((directory / "summary.json").read_text())
    with open(directory / "timeseries.csv", newline="") as f:
        reader = csv.reader(f)
        second, _clock, *names = next(reader)
        rows = np.array([[float(row[0]), *map(float, row[2:])] for row in reader])
    with open(directory / "latency.csv", newline="") as f:
        latency = [
            {
                "endpoint": row["endpoint"],
                "start": float(row["start"]),
                "served": float(row["served"]),
                **{q: float(row[q]) if row[q] else None for q in ("p50", "p95", "p99")},
            }
            for row in csv.DictReader(f)
        ]
    return SavedRun(scenario, summary, ([second, *names], rows.reshape(-1, len(names) + 1)), latency)


@dataclass(frozen=True)
class SavedComparison:
    """A finished comparison read back from its directory: its rows (compare.json) and each run's data."""

    results: dict[str, SavedRun]
    rows: list[Row]

    @property
    def baseline(self) -> SavedRun:
        return self.results[BASELINE]

    @property
    def plans(self) -> list[str]:
        return [name for name in self.results if name != BASELINE]


def read_comparison(directory: Path) -> SavedComparison:
    """The comparison write_comparison left in `directory`."""
    data = json.loads((directory / "compare.json").read_text())
    results = {name: read_run(directory / name) for name in [BASELINE, *data["plans"]]}
    rows = [Row(r["figure"], r["label"], r["unit"], r["baseline"], r["plans"]) for r in data["figures"]]
    return SavedComparison(results, rows)


def write_comparison(directory: Path, comparison: Comparison) -> None:
    """compare.json, compare.csv, and each run's own summary.json and series in `<directory>/<plan>/`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, result in comparison.results.items():
        write_data(directory / name, result)
    (directory / "compare.json").write_text(json.dumps(comparison.data(), indent=2, allow_nan=False) + "\n")
    with open(directory / "compare.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        header = ["figure", "baseline mean", "baseline ci95"]
        for name in comparison.plans:
            header += [f"{name} mean", f"{name} ci95", f"{name} diff mean", f"{name} diff ci95", f"{name} significant"]
        writer.writerow(header)
        for row in comparison.rows:
            cells = [row.figure, *_mean_and_half(row.baseline)]
            for name in comparison.plans:
                plan = row.plans[name]
                flag = plan["significant"]
                cells += [
                    *_mean_and_half(plan["value"]),
                    *_mean_and_half(plan["diff"]),
                    "" if flag is None else str(flag).lower(),
                ]
            writer.writerow(cells)


def _mean_and_half(leaf: dict[str, Any]) -> list[Any]:
    """Mean and half-width of the 95% CI; empty cells where there is none."""
    ci = leaf.get("ci95")
    return ["" if leaf["mean"] is None else leaf["mean"], "" if not ci else (ci[1] - ci[0]) / 2]
