"""What `flashsim size` writes and prints: the sizing table, the staffing table and roster, the runs,
the verification, and an overlay that applies the sized configuration to the scenario."""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import math
from pathlib import Path
from typing import Any, cast

import yaml
from rich.console import Group
from rich.table import Table
from rich.text import Text

from simulator.analysis import Evaluation, Sizing
from simulator.output import interactive
from simulator.scenario import TEAMS, Scenario
from simulator.units import ClockTime, format_clock

COLUMNS = ("what", "variant", "item", "current", "sized", "warm_start", "cost", "cost_unit")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _detail_tables(sizing: Sizing) -> list[tuple[str, list[str], list[list[str]]]]:
    """Per kind of row (servers, stock, agents), its own figures beyond the common columns."""
    out = []
    for what in dict.fromkeys(r["what"] for r in sizing.rows):
        rows = [r for r in sizing.rows if r["what"] == what]
        keys = list(dict.fromkeys(k for r in rows for k in r if k not in COLUMNS))
        if keys:
            out.append(
                (
                    f"{what}: details",
                    ["item", *(k.replace("_", " ") for k in keys)],
                    [[r["item"], *(_cell(r.get(k)) for k in keys)] for r in rows],
                )
            )
    return out


def overlay(sizing: Sizing) -> dict[str, Any]:
    """`path: value` lines for `--overlay`: the sized pools, stock and roster."""
    sized = cast(Scenario, sizing.scenario)  # set once sizing has run
    lines: dict[str, Any] = {}
    for row in sizing.rows:
        if row["what"] == "servers" and row["variant"] == sizing.applied:
            pool = sized.system.pools[row["item"]]
            lines[f"system.pools.{row['item']}.workers"] = pool.workers
            if pool.queue_limit is not None:
                lines[f"system.pools.{row['item']}.queue_limit"] = pool.queue_limit
        if row["what"] == "stock":
            lines[f"inventory.skus.{row['item']}.stock"] = row["sized"]
    if sizing.roster:  # a roster was sized: the scenario has support
        lines["support.roster"] = [s.model_dump(exclude_defaults=True) for s in sized.support.roster]  # type: ignore[union-attr]
    return lines


def write(directory: Path, sizing: Sizing, checks: list[dict[str, Any]], clock_start: Any) -> None:
    """sizing.csv, staffing.csv, roster.csv, sizing.json, sizing.html and sized.yaml (an overlay)."""
    for name, rows in (("sizing", sizing.rows), ("staffing", sizing.staffing), ("roster", sizing.roster)):
        if rows:  # one column per figure, numbers as numbers
            with open(directory / f"{name}.csv", "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
                w.writeheader()
                w.writerows(rows)
    data = {
        "rows": sizing.rows,
        "staffing": sizing.staffing,
        "roster": sizing.roster,
        "runs": [vars(r) for r in sizing.runs],
        "verification": checks,
        "unmet": sizing.unmet,
        "skipped": sizing.skipped,
        "clock_start": None if clock_start is None else [clock_start.day, clock_start.second_of_day],
    }
    (directory / "sizing.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    lines = overlay(sizing) if sizing.scenario is not None else {}
    if lines:
        (directory / "sized.yaml").write_text(
            "# flashsim size: apply with --overlay sized.yaml\n" + yaml.safe_dump(lines, sort_keys=False)
        )
    (directory / "sizing.html").write_text(render_html(sizing, checks, clock_start))


def read(directory: Path) -> tuple[Sizing, list[dict[str, Any]], ClockTime | None]:
    """The sizing `write` left in `directory` (sizing.json): what its page is drawn from."""
    data = json.loads((directory / "sizing.json").read_text())
    runs = [Evaluation(r["what"], r["config"], r["passed"]) for r in data["runs"]]
    found = Sizing(data["rows"], runs, data["staffing"], data["roster"], unmet=data["unmet"], skipped=data["skipped"])
    start = data.get("clock_start")
    day = dt.date.fromisoformat(start[0]) if start and start[0] else None
    return found, data["verification"], ClockTime(day, start[1]) if start else None


def _staffing_rows(sizing: Sizing, clock_start: Any) -> tuple[list[str], list[list[str]]]:
    teams = [t for t in TEAMS if f"{t}_agents" in (sizing.staffing[0] if sizing.staffing else {})]
    columns = ["interval"] + [f"{t} {part}" for t in teams for part in ("offered", "agents", "SL")]
    rows = []
    for r in sizing.staffing:
        cells = [format_clock(clock_start, r["start"])]
        for t in teams:
            sl = r[f"{t}_service_level"]
            cells += [f"{r[f'{t}_offered']:.1f}", str(r[f"{t}_agents"]), "-" if sl is None else f"{sl:.0%}"]
        rows.append(cells)
    return columns, rows


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def _main_rows(sizing: Sizing) -> list[list[str]]:
    return [
        [
            r["what"],
            r["variant"],
            r["item"],
            _cell(r["current"]),
            _cell(r["sized"]),
            _cell(r["warm_start"]),
            f"{_cell(r['cost'])} {r['cost_unit']}",
        ]
        for r in sizing.rows
    ]


def terminal(
    sizing: Sizing, checks: list[dict[str, Any]], clock_start: Any, replications: int, confidence: float
) -> Group:
    parts: list[Any] = [
        _table("sizing", ["what", "variant", "item", "current", "sized", "theory start", "cost"], _main_rows(sizing))
    ]
    parts += [_table(*detail) for detail in _detail_tables(sizing)]
    if sizing.roster:
        parts.append(
            _table(
                "roster (agents per shift)",
                ["shift", "team", "hours", "current", "sized"],
                [
                    [
                        r["shift"] + (" (temporary)" if r["temporary"] else ""),
                        r["team"],
                        f"{r['start']}-{r['end']}",
                        str(r["current"]),
                        str(r["sized"]),
                    ]
                    for r in sizing.roster
                    if r["current"] or r["sized"]
                ],
            )
        )
    if checks:
        parts.append(
            _table(
                "verification run of the sized configuration (fresh replications)",
                ["check", "value", "needed", "met"],
                [[c["check"], f"{c['value']:.0%}", f"{c['bound']:.0%}", "yes" if c["met"] else "NO"] for c in checks],
            )
        )
        if not all(c["met"] for c in checks):
            parts.append(
                Text(
                    "the verification met replications the search never saw: a configuration sized on "
                    "few replications fits those; size again with more (-r 20 or more)"
                )
            )
    for problem in sizing.unmet:
        parts.append(Text(f"not met: {problem}", style="bold red"))
    if sizing.skipped:
        parts.append(Text(f"not sized (the scenario sets no target for them): {', '.join(sizing.skipped)}"))
    must = math.ceil(confidence * replications - 1e-9)
    parts.append(
        Text(
            f"a target counts as met when it holds in {must} of {replications} replication(s) "
            f"(targets.confidence {confidence:.0%}); the stock target is a share of replications"
        )
    )
    parts.append(Text(f"model runs used: {len(sizing.runs)} (sizing.json lists each)"))
    return Group(*parts)


def render_html(sizing: Sizing, checks: list[dict[str, Any]], clock_start: Any) -> str:
    """sizing.html: the answer, its verification, the details, and the search as an interactive chart (offline)."""

    def table(heading: str, columns: list[str], rows: list[list[str]]) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<h2>{html.escape(heading)}</h2>\n<table><tr>{head}</tr>{body}</table>\n"

    parts = [
        table("Sizing", ["what", "variant", "item", "current", "sized", "theory start", "cost"], _main_rows(sizing))
    ]
    parts += [table(*detail) for detail in _detail_tables(sizing)]
    if checks:
        parts.append(
            table(
                "Verification run",
                ["check", "value", "needed", "met"],
                [[c["check"], f"{c['value']:.0%}", f"{c['bound']:.0%}", "yes" if c["met"] else "NO"] for c in checks],
            )
        )
    if sizing.roster:
        parts.append(
            table(
                "Roster",
                ["shift", "team", "hours", "current", "sized"],
                [[r["shift"], r["team"], f"{r['start']}-{r['end']}", r["current"], r["sized"]] for r in sizing.roster],
            )
        )
    if sizing.staffing:
        parts.append(table("Staffing per interval", *_staffing_rows(sizing, clock_start)))
    parts.append(
        table(
            "Model runs",
            ["what", "configuration", "passed"],
            [[r.what, json.dumps(r.config), json.dumps(r.passed)] for r in sizing.runs],
        )
    )
    if sizing.runs:
        parts.append(interactive.embed(interactive.search_chart(sizing.runs), "search"))
    unmet = "".join(f"<p><b>Not met:</b> {html.escape(u)}</p>" for u in sizing.unmet)
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>sizing</title><style>{style}</style>"
        f"{interactive.script() if sizing.runs else ''}</head>"
        f"<body><h1>flashsim size</h1>{unmet}{''.join(parts)}</body></html>\n"
    )
