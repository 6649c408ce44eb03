"""Start the reference shop: prepare the store once, then serve with uvicorn's worker processes.

Ctrl-C or SIGTERM stops uvicorn gracefully: requests in progress finish, each process closes its
store, and every committed change is kept (SQLite's WAL file, or the Redis server).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import uvicorn

from loadtests.target.config import ENV, ShopConfig


def prepare_store(config: ShopConfig) -> None:
    """Tables, stock and rains, once before the server processes start."""
    if config.store.startswith("redis://"):
        from loadtests.target import redis_store

        redis_store.setup(config.store, config.skus, config.rains, config.fresh)
        return
    from loadtests.target.store import SqliteStore

    path = Path(config.store.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    store = SqliteStore(path)
    try:
        store.setup(config.skus, config.rains, config.fresh)
    finally:
        store.close()


def run_target(config: ShopConfig, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the shop until Ctrl-C or SIGTERM."""
    prepare_store(config)
    os.environ[ENV] = config.to_env()
    print(f"reference shop on http://{host}:{port} ({workers} process(es), "
          f"{config.slots or 'unlimited'} slot(s) each), store {config.store}", flush=True)
    for stop in (signal.SIGINT, signal.SIGTERM):  # uvicorn re-raises the stop signal once it has shut down
        signal.signal(stop, lambda *_: sys.exit(0))
    uvicorn.run("loadtests.target.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, timeout_graceful_shutdown=10)
