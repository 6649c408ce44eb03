"""What calibrate and validate show and keep: the overlay file, the validation table, its figures and page."""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
from rich.table import Table

from simulator.analysis import JUDGED, MIN_JUDGED, NOISE_SDS, SMALL_SHARE, Validation
from simulator.output import interactive
from simulator.output.loadtest_report import saturation_warning
from simulator.output.plotting import plt
from simulator.units import format_duration


def write_overlay(path: Path, overlay: dict[str, str | int | None], source: Path | str, notes: list[str]) -> None:
    """The overlay as a YAML file of `path: value` lines, applied with `--overlay FILE`."""
    lines = [f"# flashsim calibrate --from {source}", *(f"# {n}" for n in notes)]
    lines += [f"{key}: {_yaml(value)}" for key, value in overlay.items()]
    path.write_text("\n".join(lines) + "\n")


def plot_validation(validation: Validation, path: Path) -> None:
    """Response-time distributions per endpoint, measured against predicted, on a log time axis."""
    steps = [r.step for r in validation.rows]
    fig, axes = plt.subplots(1, len(steps), figsize=(4.2 * len(steps), 3.6), squeeze=False)
    for ax, step in zip(axes[0], steps):
        latency = validation.measured_latency[step]
        if len(latency):
            ax.step(latency, np.arange(1, len(latency) + 1) / len(latency), where="post", label="measured")
        predicted = validation.predicted_latency[step]
        if len(predicted):
            share = np.linspace(0.0, 1.0, 501)
            ax.plot(np.quantile(predicted, share), share, label="predicted")
        ax.set_xscale("log")
        ax.set_title(step)
        ax.set_xlabel("response time (s)")
        ax.axhline(0.95, color="grey", lw=0.5, ls=":")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("share of answered requests")
    axes[0][0].legend(loc="lower right")
    fig.suptitle("Response times: load test (measured) vs flashsim (predicted)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


SERIES = {"answered": "answered per second", "errors": "errors per second", "in_flight": "requests in flight"}


def plot_validation_over_time(validation: Validation, path: Path) -> None:
    """Per endpoint (rows), answers, errors and requests in flight each second (columns), measured and predicted."""
    steps = [r.step for r in validation.rows]
    fig, axes = plt.subplots(len(steps), len(SERIES), figsize=(13, 2.4 * len(steps)), squeeze=False, sharex=True)
    for row, step in zip(axes, steps):
        for ax, (name, label) in zip(row, SERIES.items()):
            for source, kind in ((validation.measured_series, "measured"), (validation.predicted_series, "predicted")):
                values = source.get(step, {}).get(name)
                if values is not None:
                    ax.plot(np.arange(len(values)), values, label=kind, lw=1)
            ax.set_title(f"{step}: {label}", fontsize=9)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("seconds into the run")
    axes[0][0].legend(loc="upper right")
    fig.suptitle("Over time: load test (measured) vs flashsim (predicted)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def validation_rows(validation: Validation, tolerance: float) -> list[tuple[list[str], str, bool]]:
    """The validation's rows as shown: (step, figure, measured, predicted, error), the verdict ("ok", "FAIL",
    "(few)" or "" where not judged) and whether the row ends a step's section."""
    rows = []
    for row in validation.rows:
        for key in ("throughput", "p50", "p95", "p99"):
            error, verdict = row.error(key), row.verdict(key, tolerance)
            judged = key in JUDGED and row.judged
            cells = [row.step if key == "throughput" else "", key + ("" if judged else " (shown)"),
                     describe(row.measured[key], key), describe(row.predicted[key], key), _error(error)]  # fmt: skip
            rows.append((cells, verdict, key == "p99"))
    for i, share in enumerate(validation.shares):
        cells = ["outcomes" if i == 0 else "",
                 share.name.replace("_", " ") + ("" if share.name == "error_rate" else " (of shoppers)"),
                 f"{share.measured:.1%}", f"{share.predicted:.1%}",
                 f"{(share.predicted - share.measured) * 100:+.1f} pts"]  # fmt: skip
        rows.append((cells, "ok" if share.within(tolerance) else "FAIL", False))
    return rows


def validation_html(validation: Validation, title: str, tolerance: float, figures: list[Path]) -> str:
    """validation.html: the judged table (as the terminal's) and its charts, interactive and offline (plotly.js
    inline), the figures' images linked."""
    body = "".join(
        "<tr>"
        + "".join(f"<td class='{c if c in ('ok', 'FAIL') else ''}'>{html.escape(c)}</td>" for c in [*cells, verdict])
        + "</tr>"
        for cells, verdict, _ in validation_rows(validation, tolerance)
    )
    head = "".join(f"<th>{c}</th>" for c in ("step", "figure", "measured", "predicted", "error", "judged"))
    verdict = "PASS" if validation.passed else "FAIL"
    charts = interactive.validation_charts(
        [r.step for r in validation.rows],
        validation.measured_latency,
        validation.predicted_latency,
        validation.measured_series,
        validation.predicted_series,
        SERIES,
    )
    links = ", ".join(f"<a href='{html.escape(f.name)}'>{html.escape(f.name)}</a>" for f in figures)
    images = "".join(interactive.embed(c, f"chart-{k}") for k, c in enumerate(charts)) + f"<p>As images: {links}</p>"
    warning = (
        f"<p class='FAIL'>{html.escape(saturation_warning(validation.generator_saturated))}</p>"
        if validation.generator_saturated
        else ""
    )
    if note := noise_note(validation, tolerance):
        warning = f"<p>{html.escape(note)}</p>" + warning
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:1300px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}"
        f".ok{{color:#080}}.FAIL{{color:#c00;font-weight:bold}}img{{max-width:100%}}</style>{interactive.script()}"
        "</head><body>"
        f"<h1>{html.escape(title)}</h1><p>judged: throughput and p95 within {tolerance:.0%} (steps measured "
        f"{MIN_JUDGED} times or more), outcomes within {tolerance:.0%} or {SMALL_SHARE:.0%} points: "
        f"<b class='{verdict}'>{verdict}</b></p>{warning}<table><tr>{head}</tr>{body}</table>{images}</body></html>\n"
    )


def describe(value: float | None, key: str) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}/s" if key == "throughput" else format_duration(value)


def validation_table(validation: Validation, title: str, tolerance: float) -> Table:
    """Per step, each figure measured and predicted with the model's error; judged figures say ok or FAIL."""
    table = Table(title=title, title_justify="left")
    for column in ("step", "figure", "measured", "predicted", "error"):
        table.add_column(column, justify="left" if column in ("step", "figure") else "right")
    for cells, verdict, ends in validation_rows(validation, tolerance):
        table.add_row(*cells[:-1], cells[-1] + (f" {verdict}" if verdict else ""), end_section=ends)
    seen, expected = validation.arrivals
    transport = ", ".join(f"{step} {describe(t, 'p50')}" for step, t in validation.transport.items() if t is not None)
    runs = (
        f" in each of {validation.runs} runs, their times pooled, their counts averaged" if validation.runs > 1 else ""
    )
    model = (
        "the model visited by the same shoppers (their arrivals and intentions)"
        if validation.replayed
        else "the model's shoppers drawn from the curve"
    )
    table.caption = (
        f"shoppers measured {seen:,} (curve {expected:,.0f}){runs}, {model}; predicted times include the transport "
        f"measured (client less Server-Timing), median: {transport or 'none sent, none added'}\n"
        f"judged: throughput and p95 within {tolerance:.0%}"
        + (f", outcomes within {tolerance:.0%} or {SMALL_SHARE:.0%} points" if validation.shares else "")
        + f": {'PASS' if validation.passed else 'FAIL'}"
    )
    few = [row.step for row in validation.rows if not row.judged]
    if few:
        table.caption += f"\n(few): under {MIN_JUDGED} requests measured, shown, not judged: {', '.join(few)}"
    if note := noise_note(validation, tolerance):
        table.caption += f"\n{note}"
    if validation.slower is not None:
        table.caption += (
            f"\nthe target's cores took x{validation.slower:.2f} the calibration's time on its reference work "
            "(median); the model's cores follow its pace second by second"
        )
    if validation.generator_saturated:
        table.caption += f"\n{saturation_warning(validation.generator_saturated)}"
    table.caption_justify = "left"
    return table


def noise_note(validation: Validation, tolerance: float) -> str:
    """What a noise verdict means, naming the steps that have one; empty where none has."""
    steps = [r.step for r in validation.rows if any(r.verdict(k, tolerance) == "noise" for k in JUDGED)]
    if not steps:
        return ""
    return (
        f"noise: beyond {tolerance:.0%}, but within {NOISE_SDS:g} of the model's run-to-run standard deviations, "
        f"so {'one run' if validation.runs == 1 else f'{validation.runs} runs'} cannot judge it (its replications "
        f"differ as much): {', '.join(steps)}"
    )


def _error(error: float | None) -> str:
    if error is None:
        return "-"
    return "model only" if math.isinf(error) else f"{error:+.0%}"


def _yaml(value: str | int | None) -> str:
    return "null" if value is None else repr(value) if isinstance(value, str) else str(value)
