"""The shop's state: stock that never oversells, idempotent orders that expire, red packets.

`Store` is what the app sees; `SqliteStore` keeps the state in one SQLite file (the default) and
`redis_store.RedisStore` in Redis. In SQLite every change is one `BEGIN IMMEDIATE` transaction, so
several server processes sharing the file serialise on its write lock (WAL mode lets readers go on),
and a unit is taken by a conditional decrement (`available = available - 1 WHERE available > 0`), so
no interleaving can oversell. Overdue orders are expired inside every reserve and pay before anything
else, so correctness never waits for the background sweep. Money is kept in cents; time is wall-clock.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Protocol

from loadtests.target import timing
from loadtests.target.config import RainConfig, ShopConfig, SkuConfig

HOLD: ContextVar[float] = ContextVar("hold", default=0.0)
"""Seconds the request being served holds the store in each of its calls (the shop's --hold), set by the app."""

# Outcomes of the store's operations (order states among them).
RESERVED, PAID, EXPIRED, DECLINED, EXISTING = "reserved", "paid", "expired", "declined", "existing"
OK, SOLD_OUT, LIMIT, NOT_FOUND, EXHAUSTED, CAP = "ok", "sold_out", "limit", "not_found", "exhausted", "cap"


class Store(Protocol):
    """The shop's state as the app uses it, whatever keeps it."""

    async def product(self, sku: str) -> dict | None:
        """{"sku", "price", "available"}, or None for an unknown SKU."""

    async def reserve(self, sku: str, user: str, key: str) -> tuple[str, dict | None]:
        """(RESERVED, order) for a new order, (EXISTING, order) for a repeated key, else (why not, None)."""

    async def pay(self, order_id: str, accept: bool) -> str:
        """PAID, DECLINED (the order stays reserved), EXPIRED or NOT_FOUND."""

    async def grab(self, rain: str, user: str) -> tuple[str, float | None]:
        """(OK, yuan), or (NOT_FOUND | EXHAUSTED | CAP, None)."""

    async def expire(self) -> int:
        """Return the units of orders past their payment window; how many."""

    async def stats(self) -> dict:
        """One consistent snapshot: stock by state per SKU, orders by state, each rain's packets and money."""

    async def close(self) -> None: ...


def split_packet(left_budget: int, left_packets: int, rng: random.Random) -> int:
    """Cents of the next packet: the last takes the rest; others uniform in [1, 2 x mean], leaving >= 1 each."""
    if left_packets == 1:
        return left_budget
    most = min(2 * left_budget // left_packets, left_budget - (left_packets - 1))
    return rng.randint(1, max(1, most))


SCHEMA = """
CREATE TABLE IF NOT EXISTS skus (sku TEXT PRIMARY KEY, stock INTEGER, available INTEGER CHECK (available >= 0),
    per_user_limit INTEGER, payment_window REAL, price REAL);
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, key TEXT UNIQUE, sku TEXT, user TEXT, state TEXT,
    created REAL, expires_at REAL);
CREATE INDEX IF NOT EXISTS orders_due ON orders (state, expires_at);
CREATE INDEX IF NOT EXISTS orders_user ON orders (sku, user, state);
CREATE TABLE IF NOT EXISTS rains (rain TEXT PRIMARY KEY, budget INTEGER, packets INTEGER, left_budget INTEGER,
    left_packets INTEGER, per_user_cap INTEGER);
CREATE TABLE IF NOT EXISTS grabs (rain TEXT, user TEXT, amount INTEGER);
CREATE INDEX IF NOT EXISTS grabs_user ON grabs (rain, user);
"""


class SqliteStore:
    """The state in one SQLite file, over one connection: give each thread or process its own instance."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # used by its creating thread only
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # in WAL: a commit survives a crash of the process, not of power
        self.db.execute("PRAGMA busy_timeout=30000")
        self.rng = random.Random()
        self._hold = 0.0

    def close(self) -> None:
        self.db.close()

    def held(self, hold: float, method, *args):
        """A call that holds the connection `hold` seconds more: inside its transaction (a write keeps SQLite's
        write lock that long), or after it for a read."""
        self._hold = hold
        try:
            return method(*args)
        finally:
            left, self._hold = self._hold, 0.0
            if left > 0:
                time.sleep(left)

    def _transaction(self, fn, *args, begin: str = "BEGIN IMMEDIATE"):
        self.db.execute(begin)
        try:
            result = fn(*args)
            if self._hold > 0:
                time.sleep(self._hold)
                self._hold = 0.0
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return result

    def setup(self, skus: dict[str, SkuConfig], rains: dict[str, RainConfig], fresh: bool) -> dict[str, int]:
        """Create the tables; stock and rains are set when absent (or always, when fresh). The SKUs whose stock
        the store kept at another number than `skus` asks: their stock kept."""
        self.db.executescript(SCHEMA)

        def init():
            if fresh:
                for table in ("skus", "orders", "rains", "grabs"):
                    self.db.execute(f"DELETE FROM {table}")
            for name, s in skus.items():
                self.db.execute(
                    "INSERT OR IGNORE INTO skus VALUES (?, ?, ?, ?, ?, ?)",
                    (name, s.stock, s.stock, s.per_user_limit, s.payment_window, s.price),
                )
            for name, r in rains.items():
                cents = round(r.budget * 100)
                self.db.execute(
                    "INSERT OR IGNORE INTO rains VALUES (?, ?, ?, ?, ?, ?)",
                    (name, cents, r.packets, cents, r.packets, r.per_user_cap),
                )

        self._transaction(init)
        stored = dict(self.db.execute("SELECT sku, stock FROM skus").fetchall())
        return {name: stored[name] for name, s in skus.items() if stored.get(name, s.stock) != s.stock}

    def _expire(self, now: float) -> int:
        due = self.db.execute(
            "UPDATE orders SET state = ? WHERE state = ? AND expires_at <= ? RETURNING sku", (EXPIRED, RESERVED, now)
        ).fetchall()
        for (sku,) in due:
            self.db.execute("UPDATE skus SET available = available + 1 WHERE sku = ?", (sku,))
        return len(due)

    def expire(self) -> int:
        """Return the units of orders past their payment window; how many."""
        now = time.time()
        if (
            self.db.execute(
                "SELECT 1 FROM orders WHERE state = ? AND expires_at <= ? LIMIT 1", (RESERVED, now)
            ).fetchone()
            is None
        ):
            return 0  # nothing due: leave the write lock to the buyers
        return self._transaction(self._expire, now)

    def product(self, sku: str) -> dict | None:
        row = self.db.execute("SELECT price, available FROM skus WHERE sku = ?", (sku,)).fetchone()
        return None if row is None else {"sku": sku, "price": row[0], "available": row[1]}

    def reserve(self, sku: str, user: str, key: str) -> tuple[str, dict | None]:
        """(RESERVED, order) for a new order, (EXISTING, order) for a repeated key, else (why not, None)."""
        return self._transaction(self._reserve, sku, user, key, time.time())

    def _reserve(self, sku: str, user: str, key: str, now: float) -> tuple[str, dict | None]:
        self._expire(now)
        row = self.db.execute("SELECT id, sku, user, state, expires_at FROM orders WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return EXISTING, _order(row)
        item = self.db.execute("SELECT per_user_limit, payment_window FROM skus WHERE sku = ?", (sku,)).fetchone()
        if item is None:
            return NOT_FOUND, None
        held = self.db.execute(
            "SELECT COUNT(*) FROM orders WHERE sku = ? AND user = ? AND state IN (?, ?)", (sku, user, RESERVED, PAID)
        ).fetchone()[0]
        if held >= item[0]:
            return LIMIT, None
        if (
            self.db.execute(
                "UPDATE skus SET available = available - 1 WHERE sku = ? AND available > 0", (sku,)
            ).rowcount
            == 0
        ):
            return SOLD_OUT, None
        order = (uuid.uuid4().hex, sku, user, RESERVED, now + item[1])
        self.db.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", (order[0], key, sku, user, RESERVED, now, order[4])
        )
        return RESERVED, _order(order)

    def pay(self, order_id: str, accept: bool) -> str:
        """PAID, DECLINED (the order stays reserved), EXPIRED or NOT_FOUND."""
        return self._transaction(self._pay, order_id, accept, time.time())

    def _pay(self, order_id: str, accept: bool, now: float) -> str:
        self._expire(now)
        row = self.db.execute("SELECT state FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is None:
            return NOT_FOUND
        if row[0] != RESERVED:
            return row[0]  # paid stays paid (paying twice charges once); expired stays expired
        if not accept:
            return DECLINED
        self.db.execute("UPDATE orders SET state = ? WHERE id = ?", (PAID, order_id))
        return PAID

    def grab(self, rain: str, user: str) -> tuple[str, float | None]:
        """(OK, yuan), or (NOT_FOUND | EXHAUSTED | CAP, None)."""
        return self._transaction(self._grab, rain, user)

    def _grab(self, rain: str, user: str) -> tuple[str, float | None]:
        row = self.db.execute(
            "SELECT left_budget, left_packets, per_user_cap FROM rains WHERE rain = ?", (rain,)
        ).fetchone()
        if row is None:
            return NOT_FOUND, None
        left_budget, left_packets, cap = row
        if self.db.execute("SELECT COUNT(*) FROM grabs WHERE rain = ? AND user = ?", (rain, user)).fetchone()[0] >= cap:
            return CAP, None
        if left_packets == 0 or left_budget < left_packets:
            return EXHAUSTED, None
        cents = split_packet(left_budget, left_packets, self.rng)
        self.db.execute(
            "UPDATE rains SET left_budget = left_budget - ?, left_packets = left_packets - 1 WHERE rain = ?",
            (cents, rain),
        )
        self.db.execute("INSERT INTO grabs VALUES (?, ?, ?)", (rain, user, cents))
        return OK, cents / 100

    def stats(self) -> dict:
        """One consistent snapshot (a read transaction): stock by state per SKU, orders, rains."""
        return self._transaction(self._stats, begin="BEGIN DEFERRED")

    def _stats(self) -> dict:
        skus = {}
        for sku, stock, available in self.db.execute("SELECT sku, stock, available FROM skus").fetchall():
            counts = dict(self.db.execute("SELECT state, COUNT(*) FROM orders WHERE sku = ? GROUP BY state", (sku,)))
            skus[sku] = {
                "stock": stock,
                "available": available,
                "reserved": counts.get(RESERVED, 0),
                "paid": counts.get(PAID, 0),
                "expired": counts.get(EXPIRED, 0),
            }
        orders = dict(self.db.execute("SELECT state, COUNT(*) FROM orders GROUP BY state"))
        rains = {}
        for rain, budget, packets, left_budget, left_packets in self.db.execute(
            "SELECT rain, budget, packets, left_budget, left_packets FROM rains"
        ):
            rains[rain] = {
                "budget": budget / 100,
                "packets": packets,
                "grabbed": packets - left_packets,
                "amount": (budget - left_budget) / 100,
            }
        return {"skus": skus, "orders": {s: orders.get(s, 0) for s in (RESERVED, PAID, EXPIRED)}, "rains": rains}


def _timed(method, *args):
    """(when the call started on the thread, when it ended, its result)."""
    started = time.perf_counter()
    result = method(*args)
    return started, time.perf_counter(), result


def _order(row: tuple) -> dict:
    return {"order_id": row[0], "sku": row[1], "user": row[2], "state": row[3], "expires_at": row[4]}


class ThreadedSqliteStore:
    """A SqliteStore made awaitable: its connection lives on one thread of its own, where its calls queue.

    SQLite calls block; running them there keeps the event loop serving while a transaction waits
    for the write lock, and the connection is only ever used by that one thread.
    """

    def __init__(self, path: str | Path):
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._store: SqliteStore = self._thread.submit(SqliteStore, path).result()

    async def _call(self, method, *args):
        """Run a store call on the connection's thread; the request's phases get the time it queued for it."""
        queued = time.perf_counter()
        started, ended, result = await asyncio.get_running_loop().run_in_executor(
            self._thread, partial(_timed, self._store.held, HOLD.get(), method, *args)
        )
        timing.add("store_wait", started - queued)
        timing.add("db", ended - started)
        return result

    async def product(self, sku: str) -> dict | None:
        return await self._call(self._store.product, sku)

    async def reserve(self, sku: str, user: str, key: str) -> tuple[str, dict | None]:
        return await self._call(self._store.reserve, sku, user, key)

    async def pay(self, order_id: str, accept: bool) -> str:
        return await self._call(self._store.pay, order_id, accept)

    async def grab(self, rain: str, user: str) -> tuple[str, float | None]:
        return await self._call(self._store.grab, rain, user)

    async def expire(self) -> int:
        return await self._call(self._store.expire)

    async def stats(self) -> dict:
        return await self._call(self._store.stats)

    async def close(self) -> None:
        await self._call(self._store.close)  # after every call queued before it
        self._thread.shutdown()


def sqlite_path(url: str) -> Path:
    """The file of a sqlite:///PATH store."""
    return Path(url.removeprefix("sqlite:///"))


def prepare_store(config: ShopConfig) -> dict[str, int]:
    """Tables, stock and rains, once before the server processes start (parent directories too); the SKUs
    whose stock the store kept at another number than configured (no --fresh): their stock kept."""
    if config.store.startswith("redis://"):
        from loadtests.target import redis_store

        return redis_store.setup(config.store, config.skus, config.rains, config.fresh)
    path = sqlite_path(config.store)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = SqliteStore(path)
    try:
        return store.setup(config.skus, config.rains, config.fresh)
    finally:
        store.close()


def open_store(url: str) -> Store:
    """The store behind a URL, for one server process: sqlite:///PATH or redis://HOST:PORT/DB."""
    if url.startswith("redis://"):
        from loadtests.target.redis_store import RedisStore

        return RedisStore(url)
    return ThreadedSqliteStore(sqlite_path(url))
