"""Terminal tables at 80 columns: no line wider, no cell cut, every figure whole; `--wide` keeps them whole."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console
from rich.table import Table

from simulator import compare, load_scenario, size
from simulator.cli import main
from simulator.output import compare_report, report, sizing_report
from simulator.output.loadtest_report import summary_table as loadtest_table
from simulator.output.tables import show

THURSDAY = "scenarios/xiaomi-thursday-flash.yaml"
SMALL = ("audience.size=20k", "clock.horizon=20m")
NARROW = {"COLUMNS": "80"}


def rendered(*tables, wide: bool = False) -> str:
    console = Console(record=True, width=80, file=open("/dev/null", "w"))  # noqa: SIM115  # closed with the console
    show(tables, wide=wide, console=console)
    return console.export_text()


def assert_whole(text: str, cells: list[str]) -> None:
    """At most 80 columns, nothing cut, and each cell's every line found on one line of the text."""
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80, max(lines, key=len)
    assert "…" not in text
    for cell in cells:
        for part in str(cell).splitlines():
            assert any(part in line for line in lines), part


def test_a_table_too_wide_is_split_into_parts_that_keep_the_first_column_and_every_cell():
    table = Table(title="wide")
    for k in range(12):
        table.add_column("name" if k == 0 else f"figure {k}")
    rows = [[f"row-{r}", *(f"{1_234_567 * (r + 1) * k:,} ± {12_345 * k:,}" for k in range(1, 12))] for r in range(3)]
    for row in rows:
        table.add_row(*row)
    text = rendered(table)
    assert_whole(text, [cell for row in rows for cell in row])
    parts = text.count("name")
    assert parts >= 3 and text.count("row-2") == parts  # the first column in every part
    assert f"wide (1 of {parts})" in text and f"wide ({parts} of {parts})" in text
    assert "(1 of" not in rendered(table, wide=True)


def test_run_table_at_80_columns_shows_every_figure_whole(tmp_path):
    def run(out: Path, *extra: str):
        sets = (a for s in SMALL for a in ("--set", s))
        return CliRunner(env=NARROW).invoke(
            main, ["run", THURSDAY, "-r", "2", "--no-figures", "--out", str(out), *sets, *extra]
        )

    result = run(tmp_path / "run")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert_whole(result.output, [c for _, _, rows in report._tables(summary) for row in rows for c in row])
    assert "Endpoints (1 of" in result.output  # this one is split
    wide = run(tmp_path / "wide", "--wide")
    assert wide.exit_code == 0 and "Endpoints (1 of" not in wide.output and "…" not in wide.output


def test_compare_size_and_loadtest_tables_at_80_columns(tmp_path):
    comparison = compare(THURSDAY, ["waiting-room", "more-servers"], overrides=list(SMALL), replications=2, jobs=1)
    _, rows = compare_report.table_rows(comparison)
    assert_whole(rendered(compare_report.comparison_table(comparison)), [c for _, cells in rows for c in cells])

    found = size(load_scenario("scenarios/steady-state.yaml", ["audience.size=2k"]), "servers", replications=2, jobs=1)
    shown = sizing_report.terminal(found, [], None, 2, 0.95)
    assert_whole(rendered(shown), [c for row in sizing_report._main_rows(found) for c in row])

    directory = tmp_path / "loadtest"
    directory.mkdir()
    head = "Type,Name,Request Count,Failure Count,Requests/s,50%,95%,99%\n"
    body = "".join(f"GET,{step},12345678,1234567,123456.7,12345,123456,1234567\n" for step in ("product_page", "pay"))
    (directory / "locust_stats.csv").write_text(head + body + "GET,Aggregated,1,1,1,1,1,1\n")
    assert_whole(rendered(loadtest_table(directory)), ["12,345,678", "1,234,567", "123456.7", "product_page"])


def test_every_command_that_prints_tables_takes_wide():
    for command in ("run", "compare", "size", "loadtest", "validate"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert "--wide" in result.output, command
