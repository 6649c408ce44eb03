"""`python -m loadtests.target` (and `flashsim target`): start the reference shop."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from loadtests.target.config import ENDPOINTS, ShopConfig, SkuConfig, config_from_scenario
from loadtests.target.server import run_target


def config(
    *,
    store: str,
    slots: int | None,
    service: tuple[str, ...],
    hold: tuple[str, ...],
    page_items: int,
    fresh: bool,
    scenario: Path | None,
    scale: float,
    speedup: float,
    overrides: tuple[str, ...],
    stock: int,
    payment_window: str | None,
) -> ShopConfig:
    """The configuration the options describe; ValueError naming what cannot be used."""
    fields: dict[str, Any] = {
        "slots": slots,
        "service": per_endpoint("--service", service),
        "hold": per_endpoint("--hold", hold),
        "store": store,
        "fresh": fresh,
        "page_items": page_items,
    }
    if scenario is not None:
        from simulator.scenario import ScenarioError, load_scenario, scaled

        try:
            loaded = load_scenario(scenario, overrides)
        except ScenarioError as exc:
            raise ValueError("; ".join(map(str, exc.problems))) from None
        return config_from_scenario(scaled(loaded, scale, speedup), **fields)
    from simulator.units import parse_duration

    try:
        window = parse_duration(payment_window) if payment_window else SkuConfig.payment_window
    except ValueError as exc:
        raise ValueError(f"--payment-window: {exc}") from None
    return ShopConfig(skus={"phone": SkuConfig(stock=stock, payment_window=window)}, **fields)


def serve(host: str, port: int, workers: int, **options: Any) -> None:
    """Configure and serve until stopped; ValueError for a configuration that cannot be used."""
    run_target(config(**options), host, port, workers)


def per_endpoint(option: str, items: tuple[str, ...]) -> dict[str, str]:
    """ENDPOINT=DIST arguments as a mapping (`all` for every endpoint); ValueError for one without `=`."""
    times: dict[str, str] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"{option} {item!r}: use ENDPOINT=DIST, e.g. buy=exp(40ms)")
        times.update(dict.fromkeys(ENDPOINTS, text) if name == "all" else {name: text})
    return times


def main(argv: list[str] | None = None) -> None:
    """`python -m loadtests.target`: the same command as `flashsim target`."""
    from simulator.cli import target

    target.main(args=argv, prog_name="python -m loadtests.target")


if __name__ == "__main__":
    main(sys.argv[1:])
