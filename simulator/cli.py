"""The `flashsim` command: parse, call the API, print, exit with a code scripts can rely on.

Exit codes: 0 ok, 1 targets missed (size, validate), 2 bad input, 3 internal error.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulator.analysis.replications import ClusterProblem, Interrupted
from simulator.output.tables import show
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
        except (UsageProblem, ClusterProblem) as exc:
            err.print(f"flashsim: {exc}", markup=False, emoji=False, soft_wrap=True)
            sys.exit(BAD_INPUT)
        except (KeyboardInterrupt, Interrupted):
            if not STOPPED:  # Ctrl-C; SIGTERM recorded itself
                STOPPED.append(signal.SIGINT)
            err.print(f"flashsim: stopped by {STOPPED[0].name}", highlight=False)
            sys.exit(128 + STOPPED[0])
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if os.environ.get("FLASHSIM_DEBUG"):
                traceback.print_exc()
            err.print(
                f"flashsim: internal error: {type(exc).__name__}: {exc} (set FLASHSIM_DEBUG=1 for the traceback)",
                markup=False,
                emoji=False,
                soft_wrap=True,
            )
            sys.exit(INTERNAL)

    return wrapper


class UsageProblem(Exception):
    """A command-line argument that cannot be used (exit 2)."""


set_option = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE", help="Override a field, e.g. audience.size=50k."
)
seed_option = click.option("--seed", type=click.IntRange(min=0), help="Root seed (default: the scenario's).")
replications_option = click.option(
    "--replications", "-r", type=click.IntRange(min=1), help="Replications (default: the scenario's)."
)
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
"""The cores this process may run on: what --jobs uses unless told."""
jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=CORES,
    show_default="this machine's cores",
    help="Replications run at once in separate processes; results do not depend on it.",
)
cluster_option = click.option(
    "--cluster",
    metavar="ADDRESS",
    help="Run the replications on a Dask cluster (its scheduler's address, e.g. tcp://10.0.0.5:8786) instead "
    "of --jobs processes; results do not depend on it. Needs pip install -e '.[cluster]' here and on the workers.",
)
overlay_option = click.option(
    "--overlay",
    "overlays",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Apply an overlay file of `path.to.field: value` lines (e.g. from calibrate) before --set.",
)
wide_option = click.option(
    "--wide", is_flag=True, help="Print each table whole at its natural width (default: split to fit the terminal)."
)
grow_option = click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Grow the whole promotion K times: shoppers, stock, deposits, rain budgets, pools, support (locks stay "
    "one). E.g. 100 runs a library scenario written at 1/100 at its real size.",
)


STOPPED: list[signal.Signals] = []
"""The signal that stopped this command, once one has (Ctrl-C: SIGINT, or SIGTERM)."""


def _terminate(signum: int, _frame: Any) -> None:
    """SIGTERM stops a command as Ctrl-C does: workers stopped, what finished kept (then exit 128 + 15)."""
    STOPPED.append(signal.Signals(signum))
    raise KeyboardInterrupt


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flashsim")
def main() -> None:
    """flashsim: flash-sale load simulation, sizing and load tests from one scenario file."""
    signal.signal(signal.SIGTERM, _terminate)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@overlay_option
@set_option
@grow_option
@guarded
def check(scenario: Path, overlays: tuple[Path, ...], overrides: tuple[str, ...], scale: float) -> None:
    """Validate a scenario file: exit 0, or exit 2 with `file:line: field: message` lines."""
    loaded = load_scenario(scenario, overrides, overlays=overlays, scale=scale)
    click.echo(
        f"{scenario}: ok ({loaded.name}: {len(loaded.sales)} sale(s), "
        f"{loaded.audience.size:,} shoppers, {len(loaded.plans)} plan(s))"
    )


@main.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors)."""
    click.echo(json.dumps(scenario_schema(), indent=2))


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@seed_option
@replications_option
@jobs_option
@cluster_option
@click.option("--plan", help="Apply one of the scenario's plans.")
@overlay_option
@set_option
@grow_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory (default results/<scenario>/<run-id>/); never overwritten.",
)
@click.option("--no-figures", is_flag=True, help="Write data only (summary.json, timeseries.csv, latency.csv).")
@wide_option
@guarded
def run(
    scenario: Path,
    seed: int | None,
    replications: int | None,
    jobs: int,
    cluster: str | None,
    plan: str | None,
    overlays: tuple[Path, ...],
    overrides: tuple[str, ...],
    scale: float,
    out: Path | None,
    no_figures: bool,
    wide: bool,
) -> None:
    """Simulate a scenario and write its results."""
    from simulator.analysis import simulate
    from simulator.output import report, write_data

    loaded = load_scenario(scenario, overrides, plan, overlays, scale)
    directory = claim_directory(out, loaded.name, seed if seed is not None else loaded.seed)
    count = replications or loaded.replications
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(f"simulating {loaded.name}", total=count)
        try:
            result = simulate(loaded, seed, count, jobs, progress=lambda: bar.advance(task), cluster=cluster)
        except Interrupted as stopped:
            finished = stopped.finished[loaded.name]
            if finished.replications:  # the first k replications: a run of k, as `-r k` would give
                write_data(directory, finished)
            raise
    write_data(directory, result)
    if not no_figures:
        report.write_report(directory, result)
    show([report.summary_table(result.summary)], wide)
    click.echo(f"results: {directory}")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--plan", "plans", multiple=True, help="A plan to compare with the baseline (repeat; default: all).")
@seed_option
@replications_option
@jobs_option
@cluster_option
@overlay_option
@set_option
@grow_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory (default results/<scenario>-compare/<run-id>/); never overwritten.",
)
@click.option("--no-figures", is_flag=True, help="Write data only (compare.csv, compare.json, each plan's data).")
@wide_option
@guarded
def compare(
    scenario: Path,
    plans: tuple[str, ...],
    seed: int | None,
    replications: int | None,
    jobs: int,
    cluster: str | None,
    overlays: tuple[Path, ...],
    overrides: tuple[str, ...],
    scale: float,
    out: Path | None,
    no_figures: bool,
    wide: bool,
) -> None:
    """Run the baseline and the scenario's plans on common random numbers; show them side by side."""
    from simulator.analysis import BASELINE, load_plans, run_plans
    from simulator.output import compare_report as report_compare
    from simulator.output import write_comparison

    scenarios = load_plans(scenario, plans, overrides, overlays, scale)  # every plan checked before any run
    baseline = scenarios[BASELINE]
    directory = claim_directory(out, f"{baseline.name}-compare", seed if seed is not None else baseline.seed)
    count = replications or baseline.replications
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(f"simulating {baseline.name}: {len(scenarios)} runs", total=count * len(scenarios))
        result = run_plans(scenarios, seed, count, jobs, progress=lambda: bar.advance(task), cluster=cluster)
    write_comparison(directory, result)
    if not no_figures:
        report_compare.write_report(directory, result)
    show([report_compare.comparison_table(result)], wide)
    click.echo(f"results: {directory}")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--what",
    type=click.Choice(["servers", "stock", "agents", "warehouse", "all"]),
    default="all",
    show_default=True,
    help="What to size; with all, servers then stock then agents then the warehouse, each feeding the next.",
)
@seed_option
@replications_option
@jobs_option
@cluster_option
@overlay_option
@set_option
@grow_option
@click.option(
    "--max-scale",
    type=click.FloatRange(min=1),
    default=20.0,
    show_default=True,
    help="Most workers a pool may get, as a multiple of its configured workers.",
)
@click.option(
    "--max-agents",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Most agents a team may get in one interval.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory (default results/<scenario>-size/<run-id>/); never overwritten.",
)
@click.option("--no-figures", is_flag=True, help="No figures for the verification run.")
@wide_option
@guarded
def size(
    scenario: Path,
    what: str,
    seed: int | None,
    replications: int | None,
    jobs: int,
    cluster: str | None,
    overlays: tuple[Path, ...],
    overrides: tuple[str, ...],
    scale: float,
    max_scale: float,
    max_agents: int,
    out: Path | None,
    no_figures: bool,
    wide: bool,
) -> None:
    """Find the fewest servers, stock and agents meeting the targets; verify; exit 1 if a target cannot be met."""
    from simulator.analysis import simulate, sizing
    from simulator.output import report, write_data
    from simulator.output import sizing_report as report_sizing

    loaded = load_scenario(scenario, overrides, overlays=overlays, scale=scale)
    try:
        sizing.check(loaded, what)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    seed = loaded.seed if seed is None else seed
    count = replications or loaded.replications
    directory = claim_directory(out, f"{loaded.name}-size", seed)

    def told(run: sizing.Evaluation) -> None:
        if len(run.config) > 6:
            verdicts = list(run.passed.values())
            shown = (
                f"{len(run.config)} knobs: {verdicts.count(True)} ok, {verdicts.count(False)} no, "
                f"{verdicts.count(None)} waiting"
            )
        else:
            verdict = {True: ":ok", False: ":no", None: ":?"}
            shown = ", ".join(
                f"{k}={v}{verdict[run.passed[k]] if k in run.passed else ''}" for k, v in run.config.items()
            )
        err.print(f"run {len(found_runs) + 1}: {run.what}: {shown}", markup=False, highlight=False)
        found_runs.append(run)

    found_runs: list = []
    try:
        found = sizing.size(loaded, what, seed, count, jobs, max_scale, max_agents, on_run=told, cluster=cluster)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    checks: list = []
    if found.scenario is not None and not found.unmet:  # out of sample: replications the search never saw
        err.print(f"verification: {count} fresh replication(s), seed {seed + 1}", markup=False, highlight=False)
        result = simulate(found.scenario, seed + 1, count, jobs, cluster=cluster)
        (directory / "verification").mkdir()
        write_data(directory / "verification", result)
        if not no_figures:
            report.write_report(directory / "verification", result)
        checks = sizing.verify(found, result, what)
    report_sizing.write(directory, found, checks, loaded.clock.start_time)
    show([report_sizing.terminal(found, checks, loaded.clock.start_time, count, loaded.targets.confidence)], wide)
    click.echo(f"results: {directory}")
    sys.exit(1 if found.unmet or not all(c["met"] for c in checks) else 0)


def claim_directory(out: Path | None, name: str, seed: int) -> Path:
    """A new, empty run directory; an existing run is never overwritten. One the command made and left empty
    (it failed before writing anything: a cluster that did not answer, Ctrl-C) is removed as it ends."""
    if out is not None:
        try:
            if out.exists() and any(out.iterdir()):
                raise UsageProblem(f"--out {out}: the directory exists and is not empty; runs are never overwritten")
            if not out.exists():
                out.mkdir(parents=True)
                _tidy_on_close(out)
        except OSError as exc:
            raise UsageProblem(f"--out {out}: cannot make the directory: {exc.strerror or exc}") from None
        return out
    from datetime import datetime

    base = Path("results") / name
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # a label for people; the model never sees it
    for n in range(1, 1000):
        candidate = base / (f"{stamp}-seed{seed}" + (f"-{n}" if n > 1 else ""))
        try:
            candidate.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            continue
        except OSError as exc:
            raise UsageProblem(f"{candidate}: cannot make the run directory: {exc.strerror or exc}") from None
        _tidy_on_close(candidate)
        return candidate
    raise UsageProblem(f"{base}: could not find a free run directory")


def _tidy_on_close(directory: Path) -> None:
    """When the command ends: a directory it left empty is removed; one a stop left part-written is marked
    INCOMPLETE."""

    def remove() -> None:
        if STOPPED and directory.is_dir() and any(directory.iterdir()):
            (directory / "INCOMPLETE").write_text(
                f"stopped by {STOPPED[0].name} before the command finished: the files here are what had finished then\n"
            )
            return
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()

    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(remove)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--host", required=True, help="Base URL of the system under test, e.g. http://127.0.0.1:8000.")
@click.option(
    "--scale",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.001,
    show_default=True,
    help="Share of the audience to send.",
)
@click.option(
    "--speedup",
    type=click.FloatRange(min=1),
    default=10.0,
    show_default=True,
    help="Shopper-side clock compression (think times, arrival curve, payment window...).",
)
@click.option("--run-time", "run_time", default="60s", show_default=True, help="Stop after this long (e.g. 90s, 5m).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Locust worker processes on this machine (master/worker mode when > 1).",
)
@click.option("--max-users", type=click.IntRange(min=1), help="Cap on shoppers started (default: loadtest.max_users).")
@overlay_option
@set_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory (default results/<scenario>/<run-id>/); the load test goes in its loadtest/.",
)
@wide_option
@guarded
def loadtest(
    scenario: Path,
    host: str,
    scale: float,
    speedup: float,
    run_time: str,
    workers: int,
    max_users: int | None,
    overlays: tuple[Path, ...],
    overrides: tuple[str, ...],
    out: Path | None,
    wide: bool,
) -> None:
    """Replay the scenario's traffic against real endpoints with Locust (headless). The API is mapped in the
    scenario's `loadtest` section, or in an overlay of it (--overlay), checked before any request is sent."""
    from simulator.analysis import loadtest as lt
    from simulator.output import summary_table as loadtest_table
    from simulator.units import parse_duration

    loaded = load_scenario(scenario, overrides, overlays=overlays)
    try:
        seconds = parse_duration(run_time)
    except ValueError as exc:
        raise UsageProblem(f"--run-time: {exc}") from None
    mapping = tuple(map(str, overlays))  # loadtest.json keeps them as text
    test = lt.LoadTestRun(str(scenario), host, scale, speedup, seconds, workers, max_users, overrides, mapping)
    try:
        test.check()
        lt.check_users(test)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    directory = claim_directory(out, loaded.name, loaded.seed) / "loadtest"
    err.print(
        f"load test: {loaded.name} at {scale:g} of the audience, {speedup:g}x faster, against {host}, "
        f"for {seconds:g} s -> {directory}",
        markup=False,
        highlight=False,
    )
    code = lt.run(test, directory)
    if not (directory / "locust_stats.csv").exists():
        raise UsageProblem(f"Locust exited with code {code} and wrote no statistics; see {directory / 'locust.log'}")
    show([loadtest_table(directory)], wide)
    click.echo(f"results: {directory}")
    problems = lt.mapping_problems(directory)
    if problems:
        raise UsageProblem(f"the run stopped on a mapping error in loadtest: {problems[0]}")
    if not any((row["requests"] or 0) > (row["failures"] or 0) for row in lt.locust_stats(directory).values()):
        raise UsageProblem(f"no request to {host} got an answer but an error: is the target up? (see requests.csv)")


def loadtest_dirs(why: str) -> Callable:
    """The --from option: one load test directory, or several runs of one replay read as one (`why`)."""
    return click.option(
        "--from",
        "sources",
        required=True,
        multiple=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help=f"A load test directory (results/<scenario>/<run-id>/loadtest); repeat it to {why}.",
    )


@main.command()
@loadtest_dirs("fit several runs of the same replay as one (a surer fit: each run's saturated seconds are few)")
@click.option(
    "--scenario",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Scenario to fit (default: the one the load test scaled).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Overlay file to write (default <load test>/calibration[-N].yaml); never overwritten.",
)
@click.option(
    "--structure",
    is_flag=True,
    help="Read the target's structure (processes, CPU per endpoint, the store) from the CPU clocks and "
    "phases it sends in Server-Timing, instead of fitting service times and workers.",
)
@guarded
def calibrate(sources: tuple[Path, ...], scenario: Path | None, out: Path | None, structure: bool) -> None:
    """Fit each endpoint's service time and each pool's workers to a load test; write an overlay file."""
    from simulator.analysis import calibration, read_meta
    from simulator.output.validation_report import write_overlay

    source, *others = sources
    meta = _meta(source, read_meta)
    for other in others:
        theirs = _meta(other, read_meta)
        if (theirs.scenario, theirs.overrides, theirs.overlays) != (meta.scenario, meta.overrides, meta.overlays):
            raise UsageProblem(
                f"--from {other}: it replayed {theirs.scenario} {list(theirs.overrides)}, not {meta.scenario} "
                f"{list(meta.overrides)} as {source}; calibrate runs of one replay together"
            )
    scenario = scenario or Path(meta.scenario)
    loaded = load_scenario(scenario, meta.overrides, overlays=meta.overlays)
    if out is not None and out.exists():
        raise UsageProblem(f"--out {out}: the file exists; files are never overwritten")
    target = out or fresh_path(source / "calibration.yaml")
    try:
        overlay, notes = calibration.calibrate(list(sources), loaded, structure=structure)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    write_overlay(target, overlay, " --from ".join(map(str, sources)), notes)
    for note in notes:
        click.echo(note)
    click.echo(f"overlay: {target} (apply with --overlay {target})")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@loadtest_dirs("measure several runs of the same replay as one (surer tails: they move from run to run)")
@overlay_option
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0, min_open=True),
    default=0.15,
    show_default=True,
    help="Largest relative error of throughput and p95 latency that passes.",
)
@click.option("--replications", "-r", type=click.IntRange(min=1), default=5, show_default=True)
@wide_option
@guarded
def validate(
    scenario: Path,
    sources: tuple[Path, ...],
    overlays: tuple[Path, ...],
    tolerance: float,
    replications: int,
    wide: bool,
) -> None:
    """Compare the model with a load test at the load measured; exit 1 beyond the tolerance."""
    from simulator.analysis import calibration
    from simulator.output.validation_report import (
        plot_validation,
        plot_validation_over_time,
        validation_html,
        validation_table,
    )

    source = sources[0]
    try:
        result = calibration.validate(scenario, list(sources), tolerance, replications, overlays)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise UsageProblem(f"--from {source}: {exc}" if len(sources) == 1 else f"--from: {exc}") from None
    title = f"validate {scenario} against {' and '.join(map(str, sources))}"
    show([validation_table(result, title, tolerance)], wide)
    figure, over_time = fresh_path(source / "validation.png"), fresh_path(source / "validation-time.png")
    plot_validation(result, figure)
    plot_validation_over_time(result, over_time)
    page = fresh_path(source / "validation.html")
    page.write_text(validation_html(result, title, tolerance, [figure, over_time]))
    click.echo(f"report: {page} (figures {figure.name}, {over_time.name})")
    sys.exit(0 if result.passed else 1)


def fresh_path(path: Path) -> Path:
    """`path`, or `name-2.ext`, `name-3.ext`...: the first that does not exist, so nothing is overwritten."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _meta(source: Path, read_meta: Callable):
    try:
        return read_meta(source)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise UsageProblem(f"--from {source}: not a load test directory ({exc})") from None


@main.command("report")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@guarded
def report_command(directory: Path) -> None:
    """Draw again the pages and figures of a finished run, comparison or sizing from its data files (no model
    run): a comparison's and a sizing's own page, and those of each run inside them."""
    from simulator.output import compare_report, report, sizing_report
    from simulator.output.data import read_comparison, read_run

    runs = [d for d in (directory, *sorted(directory.iterdir() if directory.is_dir() else [])) if _is_run(d)]
    comparison, sizing = (directory / "compare.json").is_file(), (directory / "sizing.json").is_file()
    if not runs and not comparison and not sizing:
        raise UsageProblem(f"{directory}: no run, comparison or sizing here (summary.json and scenario.json, "
                           "compare.json or sizing.json)")  # fmt: skip
    try:
        for run in runs:
            report.write_report(run, read_run(run))
            click.echo(f"report: {run / 'report.html'}")
        if comparison:
            compare_report.write_report(directory, read_comparison(directory))
            click.echo(f"report: {directory / 'compare.html'}")
        if sizing:
            found, checks, clock_start = sizing_report.read(directory)
            (directory / "sizing.html").write_text(sizing_report.render_html(found, checks, clock_start))
            click.echo(f"report: {directory / 'sizing.html'}")
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise UsageProblem(f"{directory}: cannot read its data: {exc}") from None


def _is_run(directory: Path) -> bool:
    return (directory / "summary.json").is_file() and (directory / "scenario.json").is_file()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--store",
    default="sqlite:///results/target/shop.sqlite",
    show_default=True,
    help="sqlite:///PATH or redis://HOST:PORT/DB.",
)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Server processes.")
@click.option("--slots", type=click.IntRange(min=1), help="Requests each process serves at once (default: no limit).")
@click.option(
    "--service",
    multiple=True,
    metavar="ENDPOINT=DIST",
    help="Added service time, e.g. buy=exp(40ms); ENDPOINT is one of the shop's endpoints, or all.",
)
@click.option(
    "--hold",
    multiple=True,
    metavar="ENDPOINT=DIST",
    help="Added time each store call of the endpoint holds the store (its connection and, in a write, SQLite's "
    "write lock), e.g. create_order=10ms: a hot row. SQLite only.",
)
@click.option(
    "--page-items",
    type=int,
    default=0,
    show_default=True,
    help="Related items the product page renders as HTML (application CPU, about 1 us each; 0: JSON).",
)
@click.option(
    "--scenario",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sell the SKUs of this scenario file (scaled with --scale/--speedup).",
)
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="With --scenario: share of its stock.")  # fmt: skip
@click.option("--speedup", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="With --scenario: payment windows this much shorter.")  # fmt: skip
@set_option
@click.option("--stock", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Units of the default SKU 'phone' (without --scenario).")  # fmt: skip
@click.option("--payment-window", help="Payment window of the default SKU, e.g. 15m (without --scenario).")
@click.option("--fresh", is_flag=True, help="Reset stock, orders and rains in the store.")
@guarded
def target(**options: Any) -> None:
    """Start the reference shop: a real HTTP server over a real store, for load tests on this machine."""
    from loadtests.target.__main__ import serve

    try:
        serve(**options)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
