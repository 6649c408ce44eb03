"""`python -m loadtests.oscar`: the Oscar target. `serve` creates the database, stocks the scenario's SKUs and
serves django-oscar-api with gunicorn on 127.0.0.1; `audit` reads, after a load test, what Oscar sold against
what it had and whether every order the load test saw placed is in its database."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

DEFAULT_DB = "sqlite:///results/oscar/oscar.sqlite3"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loadtests.oscar", description="The django-oscar load-test target.")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="Create and stock the shop, then serve it with gunicorn.")
    audit = sub.add_parser("audit", help="What Oscar sold against its stock, and the load test's orders in it.")
    for q in (serve, audit):
        q.add_argument("--db", default=DEFAULT_DB, help="sqlite:///PATH (default %(default)s) or postgresql://...")
        q.add_argument("--scenario", required=True, help="The scenario file the load test replays.")
        q.add_argument("--overlay", action="append", default=[], help="The mapping overlay (its sku_ids), etc.")
        q.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
        q.add_argument("--scale", type=float, default=1.0, help="Share of the stock (as the load test's --scale).")
        q.add_argument("--speedup", type=float, default=1.0)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (sync: one request each).")
    serve.add_argument("--threads", type=int, default=1, help="Threads per worker (gthread when more than 1).")
    serve.add_argument("--fresh", action="store_true", help="Start from an empty database: orders and baskets gone.")
    serve.add_argument(
        "--accounts",
        type=int,
        default=0,
        help="With --fresh: create shoppers' accounts shopper-N@example.com (N from 0), password 'flashsim'.",
    )
    audit.add_argument("--from", dest="source", type=Path, help="A load test directory: check its orders exist.")
    return p


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    from simulator.scenario import ScenarioError, load_scenario, scaled

    try:
        scenario = scaled(load_scenario(args.scenario, args.overrides, overlays=args.overlay), args.scale, args.speedup)
    except ScenarioError as exc:
        p.error("; ".join(map(str, exc.problems)))
    from loadtests.oscar.database import database

    try:
        database(args.db)
    except ValueError as exc:
        p.error(str(exc))
    os.environ["FLASHSIM_OSCAR_DB"] = args.db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loadtests.oscar.settings")
    if args.command == "serve":
        if args.workers < 1 or args.threads < 1:
            p.error("--workers and --threads: use 1 or more")
        if args.fresh:
            _drop(args.db)
        import django

        django.setup()
        _migrate(args.db, keep_empty=args.fresh)
        from loadtests.oscar import catalogue

        if args.fresh:
            catalogue.stock_shop(scenario)
            catalogue.open_accounts(args.accounts)
            stocked = ", ".join(f"{s.sku} (product {s.product}): {s.stock}" for s in catalogue.sold(scenario))
            print(f"stocked: {stocked}")
        _serve(args)
    else:
        if args.source is not None and not (args.source / "outcomes.json").is_file():
            p.error(f"--from {args.source}: not a load test directory (no outcomes.json)")
        sys.exit(_audit(scenario, args.source))


def _drop(url: str) -> None:
    """Empty the database: SQLite's file (and its WAL) replaced by a migrated empty one where one was kept;
    PostgreSQL's tables flushed after migrating."""
    import django
    from django.core.management import call_command

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for f in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            f.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        if _template(path).exists():
            shutil.copyfile(_template(path), path)
        return
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)


def _template(path: Path) -> Path:
    """Where a migrated, empty SQLite database of these versions of Django and Oscar is kept beside `path`:
    migrating Oscar's 200-odd migrations takes about 25 s, a copy a moment."""
    from importlib.metadata import version

    versions = "-".join(version(p) for p in ("django", "django-oscar", "django-oscar-api"))
    return path.with_name(f"{path.name}.empty-{versions}")


def _migrate(url: str, keep_empty: bool) -> None:
    """Bring the schema up to date; a fresh SQLite database also leaves its migrated copy for the next --fresh."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    if (
        keep_empty
        and url.startswith("sqlite:///")
        and not _template(path := Path(url.removeprefix("sqlite:///"))).exists()
    ):
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(_template(path))])


def _serve(args: argparse.Namespace) -> None:
    """Replace this process with gunicorn serving the shop (stopped by Ctrl-C or SIGTERM)."""
    gunicorn = shutil.which("gunicorn") or sys.exit("gunicorn is not installed: pip install -e '.[oscar]'")
    cmd = [gunicorn, "loadtests.oscar.wsgi:application", "--bind", f"{args.host}:{args.port}"]
    cmd += ["--workers", str(args.workers), "--threads", str(args.threads), "--log-level", "warning"]
    cmd += ["--backlog", "4096", "--timeout", "120"]
    print(f"serving Oscar on http://{args.host}:{args.port} ({args.workers} workers x {args.threads} threads)")
    sys.stdout.flush()
    os.execv(gunicorn, cmd)


def _audit(scenario, source: Path | None) -> int:
    """Print what Oscar sold per SKU and, with a load test, its orders missing from Oscar; 1 on oversell or
    a missing order, else 0."""
    import django

    django.setup()
    from loadtests.oscar import catalogue

    bad = 0
    for s in catalogue.sold(scenario):
        print(
            f"{s.sku} (product {s.product}): stock {s.stock}, allocated {s.allocated}, on live orders {s.ordered}"
            + (f": OVERSOLD by {s.oversold}" if s.oversold else "")
        )
        bad += s.oversold > 0
    if source is not None:
        numbers = [str(n) for n in json.loads((source / "outcomes.json").read_text()).get("orders", [])]
        missing = catalogue.missing_orders(numbers)
        print(
            f"orders the load test saw placed: {len(numbers)}; missing from Oscar's database: {len(missing)}; "
            f"orders in Oscar's database: {catalogue.placed()}"
        )
        bad += bool(missing)
    return 1 if bad else 0


if __name__ == "__main__":
    main(sys.argv[1:])
