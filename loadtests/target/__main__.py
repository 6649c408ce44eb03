"""`python -m loadtests.target` (and `flashsim target`): start the reference shop."""

from __future__ import annotations

import argparse
import sys

from loadtests.target.config import ENDPOINTS, ShopConfig, SkuConfig, config_from_scenario
from loadtests.target.server import run_target


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flashsim target", description="Start the reference flash-sale shop.")
    p.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--store", default=ShopConfig.store, help="sqlite:///PATH (default %(default)s) or redis://HOST:PORT/DB"
    )
    p.add_argument("--workers", type=int, default=1, help="Server processes.")
    p.add_argument("--slots", type=int, help="Requests each process serves at once (default: no limit).")
    p.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="ENDPOINT=DIST",
        help=f"Added service time, e.g. buy=exp(40ms); endpoints: all, {', '.join(ENDPOINTS)}.",
    )
    p.add_argument(
        "--hold",
        action="append",
        default=[],
        metavar="ENDPOINT=DIST",
        help="Added time each store call of the endpoint holds the store (its connection and, in a write, "
        "SQLite's write lock), e.g. create_order=10ms: a hot row. SQLite only.",
    )
    p.add_argument(
        "--page-items",
        type=int,
        default=0,
        help="Related items the product page renders as HTML (application CPU, about 1 us each; default JSON).",
    )
    p.add_argument("--scenario", help="Sell the SKUs of this scenario file (scaled with --scale/--speedup).")
    p.add_argument("--scale", type=float, default=1.0, help="With --scenario: share of its stock.")
    p.add_argument("--speedup", type=float, default=1.0, help="With --scenario: payment windows this much shorter.")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="With --scenario: override a field, as flashsim's --set.",
    )
    p.add_argument(
        "--stock", type=int, default=SkuConfig.stock, help="Units of the default SKU 'phone' (without --scenario)."
    )
    p.add_argument("--payment-window", help="Payment window of the default SKU, e.g. 15m (without --scenario).")
    p.add_argument("--fresh", action="store_true", help="Reset stock, orders and rains in the store.")
    return p


def config(args: argparse.Namespace) -> ShopConfig:
    """The configuration the arguments describe; ValueError naming what cannot be used."""
    fields = {
        "slots": args.slots,
        "service": per_endpoint("--service", args.service),
        "hold": per_endpoint("--hold", args.hold),
        "store": args.store,
        "fresh": args.fresh,
        "page_items": args.page_items,
    }
    if args.scenario:
        from simulator.scenario import ScenarioError, load_scenario, scaled

        try:
            scenario = load_scenario(args.scenario, args.overrides)
        except ScenarioError as exc:
            raise ValueError("; ".join(map(str, exc.problems))) from None
        return config_from_scenario(scaled(scenario, args.scale, args.speedup), **fields)
    from simulator.units import parse_duration

    try:
        window = parse_duration(args.payment_window) if args.payment_window else SkuConfig.payment_window
    except ValueError as exc:
        raise ValueError(f"--payment-window: {exc}") from None
    return ShopConfig(skus={"phone": SkuConfig(stock=args.stock, payment_window=window)}, **fields)


def per_endpoint(option: str, items: list[str]) -> dict[str, str]:
    """ENDPOINT=DIST arguments as a mapping (`all` for every endpoint); ValueError for one without `=`."""
    times: dict[str, str] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"{option} {item!r}: use ENDPOINT=DIST, e.g. buy=exp(40ms)")
        times.update(dict.fromkeys(ENDPOINTS, text) if name == "all" else {name: text})
    return times


def main(argv: list[str] | None = None) -> None:
    """Parse, configure, serve; a configuration that cannot be used exits 2 with its message."""
    p = parser()
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"--workers {args.workers}: use 1 or more")
    try:
        shop = config(args)
    except ValueError as exc:
        p.error(str(exc))
    run_target(shop, args.host, args.port, args.workers)


if __name__ == "__main__":
    main(sys.argv[1:])
