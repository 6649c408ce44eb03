"""Start the reference shop: prepare the store once, then serve it with uvicorn's worker processes.

Ctrl-C or SIGTERM stops uvicorn gracefully: requests in progress finish, each process closes its
store, and every committed change is kept (in SQLite's file, or in the Redis server).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys

import redis
import uvicorn

from loadtests.target.config import ENV, ShopConfig
from loadtests.target.store import prepare_store


def run_target(config: ShopConfig, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the shop on host:port with `workers` processes until Ctrl-C or SIGTERM (then return, or exit 0);
    ValueError for a store that cannot be opened."""
    try:
        kept = prepare_store(config)
    except (OSError, sqlite3.Error, redis.RedisError) as exc:
        raise ValueError(f"--store {config.store}: cannot open it: {exc}") from None
    for sku, stock in kept.items():  # a restart without --fresh keeps the store's own stock: say so
        asked = config.skus[sku].stock
        print(f"note: the store keeps {sku} at its stock of {stock} (asked {asked}); --fresh starts anew", flush=True)
    os.environ[ENV] = config.to_env()  # worker processes build the app from it (create_app)
    print(
        f"reference shop on http://{host}:{port} ({workers} process(es) x {config.slots or 'unlimited'} slot(s)), "
        f"store {config.store}",
        flush=True,
    )
    for stop in (signal.SIGINT, signal.SIGTERM):  # uvicorn raises the stop signal again once it has shut down
        signal.signal(stop, lambda *_: sys.exit(0))
    uvicorn.run(
        "loadtests.target.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
