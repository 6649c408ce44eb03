"""The scenario library: every promotion validates, runs end to end at a reduced scale, and keeps its invariants."""

import numpy as np
import pytest

from simulator import load_scenario
from simulator.cli import main
from simulator.model.replication import simulate_once

SMALL = {  # a few thousand shoppers and presale orders: the same machinery at test speed
    "double11": ("audience.size=4k", "presale.expected_deposits=600", "presale.units=500"),
    "618": ("audience.size=4k", "presale.expected_deposits=600", "presale.units=500"),
    "new-year-flash": ("audience.size=4k",),
    "product-launch": ("audience.size=4k",),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_library_scenario_checks(name):
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["check", f"scenarios/{name}.yaml"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", sorted(SMALL))
def test_library_scenario_runs_and_keeps_its_invariants(name):
    scenario = load_scenario(f"scenarios/{name}.yaml", SMALL[name])
    rep = simulate_once(scenario, np.random.SeedSequence(scenario.seed))
    shoppers = rep["shoppers"]
    assert shoppers["arrivals"] > 3000
    assert sum(shoppers["outcomes"].values()) + shoppers["in_system"] == shoppers["arrivals"]
    assert shoppers["outcomes"]["bought"] > 0
    for sku, stock in rep["stock"].items():
        assert stock["sold"] + stock["reserved"] + stock["available"] == stock["initial"] + stock["replenished"], sku
        assert min(stock["series"]["available"]) >= 0
    for rain in rep.get("red_packets", {}).values():
        assert rain["spent"] <= rain["budget"] + 1e-6 and rain["packets"] > 0
    if "presale" in rep:
        p = rep["presale"]
        assert 0 < p["holders"] <= 500 and p["balance_paid"] + p["forfeited"] == p["holders"]
    if "pricing" in rep:  # coupon money conserved; list price less the discounts is what was paid
        p = rep["pricing"]
        assert p["gross"] - sum(p["discounts"].values()) == pytest.approx(p["net"])
        for coupon in p["coupons"].values():
            assert coupon["given"] + coupon["left"] == pytest.approx(coupon["budget"]) and coupon["left"] >= 0
    for name_, endpoint in rep["endpoints"].items():
        answered = endpoint["served"] + endpoint["rejected"] + endpoint["timed_out"] + endpoint["in_flight"]
        assert answered == endpoint["requests"], name_


@pytest.mark.parametrize("name", sorted(SMALL) + ["xiaomi-thursday-flash", "retry-storm", "reference-shop"])
def test_a_scenario_saved_beside_its_results_reads_back_the_same(name, tmp_path):
    from simulator.scenario import load_saved

    scenario = load_scenario(f"scenarios/{name}.yaml")
    saved = tmp_path / "scenario.json"
    saved.write_text(scenario.model_dump_json(indent=2))
    assert load_saved(saved) == scenario
