"""The shop's stores under real concurrency: never oversell, orders idempotent, expiry returns stock."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from loadtests.target import redis_store
from loadtests.target.config import RainConfig, SkuConfig
from loadtests.target.store import LIMIT, PAID, RESERVED, SOLD_OUT, SqliteStore, split_packet


def _buyers(path: str, first: int, count: int) -> list[str]:
    """One process: `count` buyers, each on its own connection and thread, racing for the same units."""
    def buy(i: int) -> str:
        store = SqliteStore(path)
        try:
            return store.reserve("phone", f"user-{i}", f"key-{i}")[0]
        finally:
            store.close()

    with ThreadPoolExecutor(max_workers=25) as pool:
        return list(pool.map(buy, range(first, first + count)))


def test_sqlite_1000_concurrent_buyers_for_100_units_buy_exactly_100(tmp_path):
    path = str(tmp_path / "shop.sqlite")
    SqliteStore(path).setup({"phone": SkuConfig(stock=100)}, {}, fresh=True)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        outcomes = [o for part in pool.starmap(_buyers, [(path, k * 250, 250) for k in range(4)]) for o in part]
    assert outcomes.count(RESERVED) == 100 and outcomes.count(SOLD_OUT) == 900
    stats = SqliteStore(path).stats()["skus"]["phone"]
    assert stats == {"stock": 100, "available": 0, "reserved": 100, "paid": 0, "expired": 0}


def test_sqlite_orders_are_idempotent_limited_and_expire(tmp_path):
    store = SqliteStore(tmp_path / "shop.sqlite")
    store.setup({"phone": SkuConfig(stock=3, per_user_limit=1, payment_window=0.3)}, {}, fresh=True)
    outcome, order = store.reserve("phone", "ann", "k1")
    assert outcome == RESERVED
    again = store.reserve("phone", "ann", "k1")
    assert again == ("existing", order)
    assert store.reserve("phone", "ann", "k2") == (LIMIT, None)
    assert store.pay(order["order_id"], accept=False) == "declined"
    assert store.pay(order["order_id"], accept=True) == PAID
    assert store.pay(order["order_id"], accept=True) == PAID  # paying twice charges once
    _, other = store.reserve("phone", "bob", "k3")
    time.sleep(0.4)
    assert store.pay(other["order_id"], accept=True) == "expired"
    stats = store.stats()["skus"]["phone"]
    assert stats == {"stock": 3, "available": 2, "reserved": 0, "paid": 1, "expired": 1}


def test_red_packets_never_exceed_the_budget_and_each_holds_a_cent(tmp_path):
    rng = random.Random(1)
    for budget, packets in [(100, 100), (10_000, 7), (12_345, 1000)]:
        left, amounts = budget, []
        for n in range(packets, 0, -1):
            cents = split_packet(left, n, rng)
            assert 1 <= cents <= left - (n - 1)
            left -= cents
            amounts.append(cents)
        assert left == 0 and sum(amounts) == budget


def test_sqlite_red_packet_rain_under_concurrency(tmp_path):
    path = tmp_path / "shop.sqlite"
    SqliteStore(path).setup({}, {"rain": RainConfig(budget=50.0, packets=200, per_user_cap=2)}, fresh=True)

    def grab(i: int) -> list:
        store = SqliteStore(path)
        try:
            return [store.grab("rain", f"user-{i % 150}") for _ in range(2)]
        finally:
            store.close()

    with ThreadPoolExecutor(max_workers=30) as pool:
        results = [r for part in pool.map(grab, range(300)) for r in part]
    amounts = [a for outcome, a in results if outcome == "ok"]
    assert len(amounts) == 200 and round(sum(amounts), 2) == 50.0 and min(amounts) >= 0.01
    rain = SqliteStore(path).stats()["rains"]["rain"]
    assert rain["grabbed"] == 200 and rain["amount"] == 50.0


def test_redis_1000_concurrent_buyers_for_100_units_buy_exactly_100(redis_url):
    redis_store.setup(redis_url, {"phone": SkuConfig(stock=100)}, {}, fresh=True)

    async def race() -> list[str]:
        stores = [redis_store.RedisStore(redis_url) for _ in range(10)]  # ten clients, ten connection pools
        try:
            return [o for o, _ in await asyncio.gather(
                *(stores[i % 10].reserve("phone", f"user-{i}", f"key-{i}") for i in range(1000)))]
        finally:
            for store in stores:
                await store.close()

    outcomes = asyncio.run(race())
    assert outcomes.count(RESERVED) == 100 and outcomes.count(SOLD_OUT) == 900

    async def stats() -> dict:
        store = redis_store.RedisStore(redis_url)
        try:
            return await store.stats()
        finally:
            await store.close()

    assert asyncio.run(stats())["skus"]["phone"] == {"stock": 100, "available": 0, "reserved": 100, "paid": 0,
                                                     "expired": 0}


def test_redis_orders_are_idempotent_limited_expire_and_rains_stay_in_budget(redis_url):
    redis_store.setup(redis_url, {"phone": SkuConfig(stock=3, payment_window=0.3)},
                      {"rain": RainConfig(budget=5.0, packets=50, per_user_cap=1)}, fresh=True)

    async def scenario() -> None:
        store = redis_store.RedisStore(redis_url)
        try:
            outcome, order = await store.reserve("phone", "ann", "k1")
            assert outcome == RESERVED
            assert (await store.reserve("phone", "ann", "k1"))[1]["order_id"] == order["order_id"]
            assert (await store.reserve("phone", "ann", "k2"))[0] == LIMIT
            assert await store.pay(order["order_id"], False) == "declined"
            assert await store.pay(order["order_id"], True) == PAID
            _, other = await store.reserve("phone", "bob", "k3")
            await asyncio.sleep(0.4)
            assert await store.pay(other["order_id"], True) == "expired"
            grabs = await asyncio.gather(*(store.grab("rain", f"u{i % 60}") for i in range(120)))
            amounts = [a for o, a in grabs if o == "ok"]
            assert len(amounts) == 50 and round(sum(amounts), 2) == 5.0 and min(amounts) >= 0.01
            stats = await store.stats()
            assert stats["skus"]["phone"] == {"stock": 3, "available": 2, "reserved": 0, "paid": 1, "expired": 1}
        finally:
            await store.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("bad", ["redis://127.0.0.1:1/0"])
def test_an_unreachable_redis_is_an_error_not_a_hang(bad):
    import redis

    with pytest.raises(redis.ConnectionError):
        redis_store.setup(bad, {"phone": SkuConfig()}, {}, fresh=False)
