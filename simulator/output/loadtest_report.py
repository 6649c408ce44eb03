"""The terminal table of a finished load test."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rich.table import Table

from simulator.analysis import locust_stats, saturated_seconds


def summary_table(directory: Path) -> Table:
    """Per step: requests, failures, throughput and client-side percentiles; then arrivals and outcomes."""
    stats = locust_stats(directory)
    table = Table(title=f"load test: {directory}", title_justify="left")
    for column in ("step", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step, row in stats.items():
        table.add_row(
            step,
            f"{row['requests']:,}",
            f"{row['failures']:,}",
            f"{row['rps']:.1f}",
            *(f"{row[k]:.0f}" if row[k] is not None else "-" for k in ("p50_ms", "p95_ms", "p99_ms")),
        )
    arrivals = directory / "arrivals.csv"
    if arrivals.exists():
        with open(arrivals, newline="") as f:
            rows = list(csv.DictReader(f))
        seen = sum(int(r["arrivals"]) for r in rows)
        expected = sum(float(r["expected"]) for r in rows)
        table.caption = f"shoppers arrived: {seen:,} (curve: {expected:,.0f})"
    outcomes = directory / "outcomes.json"
    if outcomes.exists():
        counts = json.loads(outcomes.read_text())["outcomes"]
        listed = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
        table.caption = f"{table.caption or ''}; outcomes: {listed}"
    saturated = saturated_seconds(directory)
    if saturated:
        table.caption = f"{table.caption or ''}\n{saturation_warning(saturated)}"
    table.caption_justify = "left"
    return table


def saturation_warning(seconds: float) -> str:
    """What a load test's figures are worth where its generator was saturated."""
    return (
        f"warning: the load generator was saturated for {seconds:g} s of the run; the times measured then include "
        "its own queueing (run Locust on more cores: --workers)"
    )
