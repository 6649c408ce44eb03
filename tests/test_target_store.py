"""The shop's stores alone under real concurrency: never oversell, orders idempotent, limited and expiring,
red packets within budget, and every stats snapshot consistent. Each store test runs on SQLite and on a real
redis-server (skipped, saying why, where it is not installed)."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtests.target import redis_store
from loadtests.target.config import RainConfig, ShopConfig, SkuConfig
from loadtests.target.store import (
    CAP,
    DECLINED,
    EXHAUSTED,
    EXISTING,
    EXPIRED,
    LIMIT,
    NOT_FOUND,
    OK,
    PAID,
    RESERVED,
    SOLD_OUT,
    SqliteStore,
    open_store,
    prepare_store,
    split_packet,
)

pytestmark = pytest.mark.slow  # real server processes and load tests: the slow tier

CLIENTS = 8
"""Store instances (SQLite: connections on their own threads; Redis: connection pools) racing in each test."""


@pytest.fixture(params=["sqlite", "redis"])
def url(request, tmp_path) -> str:
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return f"sqlite:///{tmp_path / 'shop.sqlite'}"


def prepare(url: str, skus: dict | None = None, rains: dict | None = None) -> None:
    prepare_store(ShopConfig(skus=skus or {}, rains=rains or {}, store=url, fresh=True))


def race(url: str, play):
    """Run `await play(stores)` with CLIENTS stores open on the same data; its result."""

    async def main():
        stores = [open_store(url) for _ in range(CLIENTS)]
        try:
            return await play(stores)
        finally:
            for store in stores:
                await store.close()

    return asyncio.run(asyncio.wait_for(main(), timeout=30))


def stats(url: str) -> dict:
    return race(url, lambda stores: stores[0].stats())


def assert_consistent(snapshot: dict) -> None:
    """Every unit is available, reserved or paid; every order is in one state; no rain over budget."""
    totals = Counter()
    for name, sku in snapshot["skus"].items():
        assert sku["available"] >= 0, name
        assert sku["available"] + sku["reserved"] + sku["paid"] == sku["stock"], (name, sku)
        totals.update({state: sku[state] for state in (RESERVED, PAID, EXPIRED)})
    assert snapshot["orders"] == {state: totals[state] for state in (RESERVED, PAID, EXPIRED)}
    for name, rain in snapshot["rains"].items():
        assert rain["grabbed"] <= rain["packets"] and rain["amount"] <= rain["budget"], (name, rain)


# -- stock ----------------------------------------------------------------------------------------


def test_1000_concurrent_buyers_for_100_units_buy_exactly_100(url):
    prepare(url, {"phone": SkuConfig(stock=100)})

    async def play(stores):
        return await asyncio.gather(
            *(stores[i % CLIENTS].reserve("phone", f"user-{i}", f"key-{i}") for i in range(1000))
        )

    outcomes = Counter(outcome for outcome, _ in race(url, play))
    assert outcomes == {RESERVED: 100, SOLD_OUT: 900}
    snapshot = stats(url)
    assert snapshot["skus"]["phone"] == {"stock": 100, "available": 0, "reserved": 100, "paid": 0, "expired": 0}
    assert_consistent(snapshot)


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


def test_sqlite_buyers_in_four_processes_sharing_the_file_buy_exactly_the_stock(tmp_path):
    path = str(tmp_path / "shop.sqlite")
    prepare(f"sqlite:///{path}", {"phone": SkuConfig(stock=100)})
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        parts = pool.starmap_async(_buyers, [(path, k * 250, 250) for k in range(4)]).get(timeout=60)
    assert Counter(o for part in parts for o in part) == {RESERVED: 100, SOLD_OUT: 900}
    store = SqliteStore(path)
    try:
        assert store.stats()["skus"]["phone"]["available"] == 0
        assert store.db.execute("SELECT COUNT(DISTINCT user) FROM orders").fetchone()[0] == 100
    finally:
        store.close()


def test_same_idempotency_key_makes_one_order_and_takes_one_unit(url):
    prepare(url, {"phone": SkuConfig(stock=5, per_user_limit=3)})

    async def play(stores):
        return await asyncio.gather(*(stores[i % CLIENTS].reserve("phone", "ann", "same-key") for i in range(50)))

    results = race(url, play)
    assert Counter(outcome for outcome, _ in results) == {RESERVED: 1, EXISTING: 49}
    assert len({order["order_id"] for _, order in results}) == 1
    assert stats(url)["skus"]["phone"]["available"] == 4


def test_per_user_limit_counts_reserved_and_paid_orders(url):
    prepare(url, {"phone": SkuConfig(stock=10, per_user_limit=2)})

    async def play(stores):
        store = stores[0]
        _, first = await store.reserve("phone", "ann", "k1")
        assert await store.pay(first["order_id"], True) == PAID
        assert (await store.reserve("phone", "ann", "k2"))[0] == RESERVED
        assert await store.reserve("phone", "ann", "k3") == (LIMIT, None)  # one paid + one reserved = 2
        assert (await store.reserve("phone", "bob", "k4"))[0] == RESERVED  # the limit is per user
        assert await store.reserve("nothing", "bob", "k5") == (NOT_FOUND, None)

    race(url, play)
    assert stats(url)["skus"]["phone"] == {"stock": 10, "available": 7, "reserved": 2, "paid": 1, "expired": 0}


def test_expired_reservation_returns_unit(url):
    prepare(url, {"phone": SkuConfig(stock=1, payment_window=0.2)})

    async def play(stores):
        store = stores[0]
        _, held = await store.reserve("phone", "ann", "k1")
        assert (await store.reserve("phone", "bob", "k2"))[0] == SOLD_OUT
        await asyncio.sleep(0.3)  # no sweep runs here: the reservation itself expires what is overdue
        outcome, order = await store.reserve("phone", "bob", "k2")
        assert outcome == RESERVED and order["expires_at"] > time.time()
        assert await store.pay(held["order_id"], True) == EXPIRED

    race(url, play)
    snapshot = stats(url)
    assert snapshot["skus"]["phone"] == {"stock": 1, "available": 0, "reserved": 1, "paid": 0, "expired": 1}
    assert_consistent(snapshot)


def test_the_sweep_expires_every_overdue_order_and_only_those(url):
    prepare(url, {"phone": SkuConfig(stock=10, payment_window=0.2), "case": SkuConfig(stock=5)})

    async def play(stores):
        store = stores[0]
        for i in range(3):
            await store.reserve("phone", f"u{i}", f"p{i}")
        await store.reserve("case", "u0", "c0")  # a 900 s window: not due
        assert await store.expire() == 0
        await asyncio.sleep(0.3)
        assert await store.expire() == 3
        assert await store.expire() == 0

    race(url, play)
    snapshot = stats(url)
    assert snapshot["skus"]["phone"] == {"stock": 10, "available": 10, "reserved": 0, "paid": 0, "expired": 3}
    assert snapshot["orders"] == {RESERVED: 1, PAID: 0, EXPIRED: 3}


def test_declined_payment_keeps_the_order_and_paying_twice_charges_once(url):
    prepare(url, {"phone": SkuConfig(stock=2)})

    async def play(stores):
        store = stores[0]
        _, order = await store.reserve("phone", "ann", "k1")
        assert await store.pay(order["order_id"], False) == DECLINED
        assert await store.pay(order["order_id"], True) == PAID
        assert await store.pay(order["order_id"], True) == PAID
        assert await store.pay(order["order_id"], False) == PAID
        assert await store.pay("no-such-order", True) == NOT_FOUND

    race(url, play)
    assert stats(url)["skus"]["phone"] == {"stock": 2, "available": 1, "reserved": 0, "paid": 1, "expired": 0}


def test_stats_snapshots_hold_the_invariants_under_mixed_load(url):
    """Buyers reserve, pay, are declined and let orders expire while a reader takes snapshots."""
    prepare(url, {"phone": SkuConfig(stock=30, payment_window=0.15), "case": SkuConfig(stock=10, per_user_limit=2)})
    rng = random.Random(7)
    plans = [(rng.choice(["phone", "case"]), f"user-{rng.randrange(60)}", rng.random()) for _ in range(300)]

    async def play(stores):
        snapshots, paid = [], set()

        async def buyer(i, sku, user, luck):
            store = stores[i % (CLIENTS - 1)]
            outcome, order = await store.reserve(sku, user, f"key-{i}")
            if outcome == RESERVED and luck < 0.8:  # the rest never pay: their units come back
                await asyncio.sleep(luck / 10)
                if await store.pay(order["order_id"], luck < 0.6) == PAID:
                    paid.add(order["order_id"])

        async def snapshot():
            snapshots.append(await stores[-1].stats())

        for start in range(0, len(plans), 30):  # a snapshot in the middle of every batch of buyers
            batch = [buyer(i, *plans[i]) for i in range(start, min(start + 30, len(plans)))]
            await asyncio.gather(*batch[:15], snapshot(), *batch[15:])
        await asyncio.sleep(0.2)
        await stores[0].expire()
        return snapshots, paid

    snapshots, paid = race(url, play)
    assert len(snapshots) == 10
    for snapshot in snapshots:
        assert_consistent(snapshot)
    final = stats(url)
    assert_consistent(final)
    assert final["skus"]["phone"]["reserved"] == 0  # every unpaid phone order has expired
    assert final["orders"][PAID] == len(paid) > 0
    assert final["orders"][EXPIRED] > 0


# -- red packets ----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(packets=st.integers(1, 500), extra=st.integers(0, 100_000), seed=st.integers(0, 2**32))
def test_split_packet_gives_every_packet_a_cent_and_the_whole_budget(packets, extra, seed):
    rng, left = random.Random(seed), packets + extra
    for n in range(packets, 0, -1):
        cents = split_packet(left, n, rng)
        assert 1 <= cents <= left - (n - 1)  # leaves a cent for each packet after it
        left -= cents
    assert left == 0


def test_red_packets_never_exceed_the_budget_under_concurrency(url):
    prepare(url, rains={"rain": RainConfig(budget=50.0, packets=200, per_user_cap=2)})
    users = [f"user-{i % 120}" for i in range(360)]  # 120 users try three times: 240 tries for 200 packets

    async def play(stores):
        return await asyncio.gather(*(stores[i % CLIENTS].grab("rain", user) for i, user in enumerate(users)))

    results = race(url, play)
    outcomes = Counter(outcome for outcome, _ in results)
    amounts = [amount for outcome, amount in results if outcome == OK]
    assert outcomes[OK] == 200 and set(outcomes) <= {OK, CAP, EXHAUSTED} and outcomes[EXHAUSTED] > 0
    assert min(amounts) >= 0.01 and all(round(a, 2) == a for a in amounts)
    assert round(sum(amounts), 2) == 50.0  # the last packet takes the rest: all of it, never more
    per_user = Counter(user for user, (outcome, _) in zip(users, results) if outcome == OK)
    assert max(per_user.values()) <= 2
    rain = stats(url)["rains"]["rain"]
    assert rain == {"budget": 50.0, "packets": 200, "grabbed": 200, "amount": 50.0}


def test_a_user_reaching_the_cap_is_refused_and_unknown_rains_are_not_found(url):
    prepare(url, rains={"rain": RainConfig(budget=1.0, packets=10, per_user_cap=1)})

    async def play(stores):
        store = stores[0]
        outcome, amount = await store.grab("rain", "ann")
        assert outcome == OK and 0.01 <= amount <= 1.0
        assert await store.grab("rain", "ann") == (CAP, None)
        assert await store.grab("drizzle", "ann") == (NOT_FOUND, None)

    race(url, play)
    assert stats(url)["rains"]["rain"]["grabbed"] == 1


# -- setup ----------------------------------------------------------------------------------------


def test_a_restart_without_fresh_keeps_the_orders_and_fresh_wipes_them(url):
    prepare(url, {"phone": SkuConfig(stock=3)})
    race(url, lambda stores: stores[0].reserve("phone", "ann", "k1"))
    prepare_store(ShopConfig(skus={"phone": SkuConfig(stock=99)}, rains={}, store=url, fresh=False))
    assert stats(url)["skus"]["phone"] == {"stock": 3, "available": 2, "reserved": 1, "paid": 0, "expired": 0}
    prepare(url, {"phone": SkuConfig(stock=99)})
    assert stats(url)["skus"]["phone"] == {"stock": 99, "available": 99, "reserved": 0, "paid": 0, "expired": 0}


def test_an_unreachable_redis_is_an_error_not_a_hang():
    import redis

    with pytest.raises(redis.ConnectionError):
        redis_store.setup("redis://127.0.0.1:1/0", {"phone": SkuConfig()}, {}, fresh=False)


def test_each_call_counts_its_wait_for_a_connection_and_its_time_holding_it(url):
    # many calls at once on one store: each request's phases get the time it queued for the connection (SQLite's
    # one thread, Redis's pool of 64) and the time it held it
    from loadtests.target import timing

    prepare(url, {"phone": SkuConfig(stock=5)})

    async def play(stores):
        async def look() -> dict[str, float]:
            phases: dict[str, float] = {}
            timing.PHASES.set(phases)  # this task's own, as the app sets for each request
            assert (await stores[0].product("phone"))["available"] == 5
            return phases

        return await asyncio.gather(*(look() for _ in range(200)))

    phases = race(url, play)
    assert all(set(p) == {"store_wait", "db"} and p["db"] > 0 for p in phases)
    assert max(p["store_wait"] for p in phases) > min(p["db"] for p in phases)  # some waited a turn
