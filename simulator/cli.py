"""The `flashsim` command: parse, call the API, print, exit with a code scripts can rely on.

Exit codes: 0 ok, 1 targets missed (size, validate), 2 bad input, 3 internal error.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulator.scenario import ScenarioError, load_scenario, scenario_schema

BAD_INPUT, INTERNAL = 2, 3
err = Console(stderr=True, highlight=False)


def guarded(command: Callable) -> Callable:
    """Bad input: one line per problem and exit 2; anything unexpected: exit 3, never a bare traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ScenarioError as exc:
            for problem in exc.problems:
                err.print(str(problem), markup=False, emoji=False, soft_wrap=True)
            sys.exit(BAD_INPUT)
        except UsageProblem as exc:
            err.print(f"flashsim: {exc}", markup=False, emoji=False, soft_wrap=True)
            sys.exit(BAD_INPUT)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if os.environ.get("FLASHSIM_DEBUG"):
                traceback.print_exc()
            err.print(f"flashsim: internal error: {type(exc).__name__}: {exc} "
                      "(set FLASHSIM_DEBUG=1 for the traceback)", markup=False, emoji=False, soft_wrap=True)
            sys.exit(INTERNAL)

    return wrapper


class UsageProblem(Exception):
    """A command-line argument that cannot be used (exit 2)."""


set_option = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE", help="Override a field, e.g. audience.size=50k."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flashsim")
def main() -> None:
    """flashsim: flash-sale load simulation, sizing and load tests from one scenario file."""


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@set_option
@guarded
def check(scenario: Path, overrides: tuple[str, ...]) -> None:
    """Validate a scenario file: exit 0, or exit 2 with `file:line: field: message` lines."""
    loaded = load_scenario(scenario, overrides)
    click.echo(f"{scenario}: ok ({loaded.name}: {len(loaded.sales)} sale(s), "
               f"{loaded.audience.size:,} shoppers, {len(loaded.plans)} plan(s))")


@main.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors)."""
    click.echo(json.dumps(scenario_schema(), indent=2))


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=int, help="Root seed (default: the scenario's).")
@click.option("--replications", "-r", type=click.IntRange(min=1), help="Replications (default: the scenario's).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Replications run at once in separate processes; results do not depend on it.")
@click.option("--plan", help="Apply one of the scenario's plans.")
@set_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory (default results/<scenario>/<run-id>/); never overwritten.")
@click.option("--no-figures", is_flag=True, help="Write data only (summary.json, timeseries.csv, latency.csv).")
@guarded
def run(scenario: Path, seed: int | None, replications: int | None, jobs: int, plan: str | None,
        overrides: tuple[str, ...], out: Path | None, no_figures: bool) -> None:
    """Simulate a scenario and write its results."""
    from simulator import report
    from simulator.runner import simulate
    from simulator.summary import write_data

    loaded = load_scenario(scenario, overrides, plan)
    directory = claim_directory(out, loaded.name, seed if seed is not None else loaded.seed)
    count = replications or loaded.replications
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(f"simulating {loaded.name}", total=count)
        result = simulate(loaded, seed, count, jobs, progress=lambda: bar.advance(task))
    write_data(directory, result)
    if not no_figures:
        report.write_report(directory, result)
    Console(highlight=False).print(report.summary_table(result.summary))
    click.echo(f"results: {directory}")


def claim_directory(out: Path | None, name: str, seed: int) -> Path:
    """A new, empty run directory; an existing run is never overwritten."""
    if out is not None:
        if out.exists() and any(out.iterdir()):
            raise UsageProblem(f"--out {out}: the directory exists and is not empty; runs are never overwritten")
        out.mkdir(parents=True, exist_ok=True)
        return out
    from datetime import datetime

    base = Path("results") / name
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # a label for people; the model never sees it
    for n in range(1, 1000):
        candidate = base / (f"{stamp}-seed{seed}" + (f"-{n}" if n > 1 else ""))
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            return candidate
        except FileExistsError:
            continue
    raise UsageProblem(f"{base}: could not find a free run directory")
