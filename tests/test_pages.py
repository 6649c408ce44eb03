"""The pages in a real browser (Debian's headless Chromium, driven by Playwright): no console error, no request
leaving the machine, every chart drawn; a screenshot of each is kept in results/test-pages/. And the weight of a
one-day scenario's page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from simulator import compare, load_scenario, simulate, size
from simulator.output import compare_report, report, sizing_report, write_comparison, write_data

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "results" / "test-pages"
THURSDAY = ROOT / "scenarios" / "xiaomi-thursday-flash.yaml"
LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium package)")
    sync = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    with sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def opened(browser, page_path: Path, shot: str) -> dict:
    """Open a page; what it logged, what it asked for, and how many of its charts and images drew."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_timeout(500)
    seen = page.evaluate(
        """() => ({
            charts: document.querySelectorAll('.plotly-graph-div').length,
            drawn: [...document.querySelectorAll('.plotly-graph-div')]
                .filter(d => d.querySelectorAll('.scatterlayer .trace path.js-line').length > 0).length,
            images: document.images.length,
            loaded: [...document.images].filter(i => i.complete && i.naturalWidth > 0).length,
        })"""
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
    page.close()
    return {**seen, "errors": errors, "away": [u for u in requests if not u.startswith(LOCAL)]}


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
    assert seen["errors"] == [] and seen["away"] == [] and seen["loaded"] == seen["images"]


def test_a_one_day_promotions_page_weighs_under_10_mb(tmp_path):
    scenario = load_scenario(ROOT / "scenarios" / "double11.yaml", ["audience.size=4k", "presale.expected_deposits=600",
                             "presale.units=500"])  # fmt: skip
    result = simulate(scenario, replications=1)
    write_data(tmp_path, result)
    report.write_report(tmp_path, result)
    weight = (tmp_path / "report.html").stat().st_size
    assert weight < 10_000_000, weight
    assert (tmp_path / "report.html").read_text().count('class="plotly-graph-div"') > 20  # the day's moments too
