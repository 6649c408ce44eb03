"""`python -m loadtests.target` (and `flashsim target`): start the reference shop."""

from __future__ import annotations

import argparse
import sys

from loadtests.target.config import ENDPOINTS, ShopConfig, SkuConfig
from loadtests.target.server import run_target


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flashsim target", description="Start the reference flash-sale shop.")
    p.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--store", default=ShopConfig.store, help="sqlite:///PATH (default) or redis://HOST:PORT/DB")
    p.add_argument("--workers", type=int, default=1, help="Server processes.")
    p.add_argument("--slots", type=int, help="Requests each process serves at once (default: no limit).")
    p.add_argument("--service", action="append", default=[], metavar="ENDPOINT=DIST",
                   help=f"Added service time, e.g. buy=exp(40ms); endpoints: all, {', '.join(ENDPOINTS)}.")
    p.add_argument("--scenario", help="Sell the SKUs of this scenario file (replayed with --scale/--speedup).")
    p.add_argument("--scale", type=float, default=1.0, help="With --scenario: share of its stock.")
    p.add_argument("--speedup", type=float, default=1.0, help="With --scenario: payment windows this much shorter.")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="With --scenario: override a field, as flashsim's --set.")
    p.add_argument("--stock", type=int, help="Units of the default SKU 'phone' (without --scenario).")
    p.add_argument("--payment-window", help="Payment window of the default SKU, e.g. 15m (without --scenario).")
    p.add_argument("--fresh", action="store_true", help="Reset stock, orders and rains in the store.")
    return p


def config(args: argparse.Namespace, p: argparse.ArgumentParser) -> ShopConfig:
    """The configuration the arguments describe; argparse's error (exit 2) for what cannot be used."""
    from simulator.distributions import parse_distribution
    from simulator.units import parse_duration

    service: dict[str, str] = {}
    for item in args.service:
        name, sep, text = item.partition("=")
        if not sep or name not in ("all", *ENDPOINTS):
            p.error(f"--service {item!r}: use ENDPOINT=DIST with ENDPOINT one of all, {', '.join(ENDPOINTS)}")
        try:
            parse_distribution(text, None)
        except ValueError as exc:
            p.error(f"--service {item!r}: {exc}")
        service.update(dict.fromkeys(ENDPOINTS, text) if name == "all" else {name: text})
    for flag, value in (("--workers", args.workers), ("--slots", args.slots), ("--stock", args.stock)):
        if value is not None and value < (0 if flag == "--stock" else 1):
            p.error(f"{flag} {value}: too small")
    if args.scenario:
        from loadtests.target.config import skus_from_scenario
        from simulator.replay import replayed
        from simulator.scenario import ScenarioError, load_scenario

        try:
            skus = skus_from_scenario(replayed(load_scenario(args.scenario, args.overrides), args.scale, args.speedup))
        except ScenarioError as exc:
            p.error("; ".join(map(str, exc.problems)))
        except ValueError as exc:
            p.error(str(exc))
    else:
        try:
            window = parse_duration(args.payment_window) if args.payment_window else SkuConfig.payment_window
        except ValueError as exc:
            p.error(f"--payment-window: {exc}")
        skus = {"phone": SkuConfig(stock=args.stock if args.stock is not None else SkuConfig.stock,
                                   payment_window=window)}
    if not (args.store.startswith("sqlite:///") or args.store.startswith("redis://")):
        p.error(f"--store {args.store!r}: use sqlite:///PATH or redis://HOST:PORT/DB")
    return ShopConfig(skus=skus, slots=args.slots, service=service, store=args.store, fresh=args.fresh)


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    run_target(config(args, p), args.host, args.port, args.workers)


if __name__ == "__main__":
    main(sys.argv[1:])
