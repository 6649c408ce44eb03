"""The shop's state in Redis: the same operations as the SQLite store, each one atomic Lua script.

Each process holds a pool of 64 connections; a request counts the time it queued for one and held it.

A script runs alone on the server, so the check and the decrement of a reservation cannot be
interleaved by another client: no oversell, whatever the number of server processes. Overdue orders
are expired at the start of every reserve and pay, as in SQLite. Scripts compute the keys they touch, so
this is for a single Redis server, not Redis Cluster. Keys live under `shop:`; besides the SKU,
order and rain hashes, per-SKU counters of orders by state and of each user's holdings spare every
operation a scan.
"""

from __future__ import annotations

import random
import time
import uuid

import redis
import redis.asyncio as aredis

from loadtests.target import timing
from loadtests.target.config import RainConfig, SkuConfig
from loadtests.target.store import EXPIRED, PAID, RESERVED

_EXPIRE = """
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', 'shop:pending', '-inf', now)
for _, oid in ipairs(due) do
  local o = 'shop:order:' .. oid
  local sku = redis.call('HGET', o, 'sku')
  redis.call('HSET', o, 'state', 'expired')
  redis.call('HINCRBY', 'shop:sku:' .. sku, 'available', 1)
  redis.call('HINCRBY', 'shop:held:' .. sku, redis.call('HGET', o, 'user'), -1)
  redis.call('HINCRBY', 'shop:count:' .. sku, 'reserved', -1)
  redis.call('HINCRBY', 'shop:count:' .. sku, 'expired', 1)
  redis.call('ZREM', 'shop:pending', oid)
end
"""

RESERVE = (
    _EXPIRE
    + """
local sku, user, key, id = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local existing = redis.call('GET', 'shop:key:' .. key)
if existing then return {'existing', existing} end
local s = 'shop:sku:' .. sku
if redis.call('EXISTS', s) == 0 then return {'not_found'} end
if tonumber(redis.call('HGET', 'shop:held:' .. sku, user) or '0') >= tonumber(redis.call('HGET', s, 'per_user_limit'))
then return {'limit'} end
if tonumber(redis.call('HGET', s, 'available')) <= 0 then return {'sold_out'} end
redis.call('HINCRBY', s, 'available', -1)
local expires = now + tonumber(redis.call('HGET', s, 'payment_window'))
redis.call('HSET', 'shop:order:' .. id, 'sku', sku, 'user', user, 'state', 'reserved', 'expires_at', tostring(expires))
redis.call('SET', 'shop:key:' .. key, id)
redis.call('HINCRBY', 'shop:held:' .. sku, user, 1)
redis.call('HINCRBY', 'shop:count:' .. sku, 'reserved', 1)
redis.call('ZADD', 'shop:pending', expires, id)
return {'reserved', id}
"""
)

PAY = (
    _EXPIRE
    + """
local o = 'shop:order:' .. ARGV[2]
local state = redis.call('HGET', o, 'state')
if not state then return 'not_found' end
if state ~= 'reserved' then return state end
if ARGV[3] ~= '1' then return 'declined' end
local sku = redis.call('HGET', o, 'sku')
redis.call('HSET', o, 'state', 'paid')
redis.call('ZREM', 'shop:pending', ARGV[2])
redis.call('HINCRBY', 'shop:count:' .. sku, 'reserved', -1)
redis.call('HINCRBY', 'shop:count:' .. sku, 'paid', 1)
return 'paid'
"""
)

GRAB = """
local r = 'shop:rain:' .. ARGV[1]
if redis.call('EXISTS', r) == 0 then return {'not_found'} end
local got = tonumber(redis.call('HGET', 'shop:grabs:' .. ARGV[1], ARGV[2]) or '0')
if got >= tonumber(redis.call('HGET', r, 'per_user_cap')) then return {'cap'} end
local budget = tonumber(redis.call('HGET', r, 'left_budget'))
local packets = tonumber(redis.call('HGET', r, 'left_packets'))
if packets == 0 or budget < packets then return {'exhausted'} end
local cents = budget
if packets > 1 then
  local most = math.max(1, math.min(math.floor(2 * budget / packets), budget - (packets - 1)))
  cents = math.min(most, 1 + math.floor(tonumber(ARGV[3]) * most))
end
redis.call('HINCRBY', r, 'left_budget', -cents)
redis.call('HINCRBY', r, 'left_packets', -1)
redis.call('HINCRBY', 'shop:grabs:' .. ARGV[1], ARGV[2], 1)
return {'ok', cents}
"""


def setup(url: str, skus: dict[str, SkuConfig], rains: dict[str, RainConfig], fresh: bool) -> dict[str, int]:
    """Stock and rains, set when absent (or always, when fresh); the SKUs whose stock was kept at another
    number than `skus` asks: their stock kept."""
    kept: dict[str, int] = {}
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        if fresh:
            keys = list(client.scan_iter("shop:*", count=1000))
            for i in range(0, len(keys), 1000):
                client.delete(*keys[i : i + 1000])
        for name, s in skus.items():
            if client.exists(f"shop:sku:{name}"):
                if (stored := int(client.hget(f"shop:sku:{name}", "stock") or 0)) != s.stock:
                    kept[name] = stored
                continue
            client.hset(
                f"shop:sku:{name}",
                mapping={
                    "stock": s.stock,
                    "available": s.stock,
                    "price": s.price,
                    "per_user_limit": s.per_user_limit,
                    "payment_window": s.payment_window,
                },
            )
        for name, r in rains.items():
            if client.exists(f"shop:rain:{name}"):
                continue
            cents = round(r.budget * 100)
            client.hset(
                f"shop:rain:{name}",
                mapping={
                    "budget": cents,
                    "packets": r.packets,
                    "left_budget": cents,
                    "left_packets": r.packets,
                    "per_user_cap": r.per_user_cap,
                },
            )
    finally:
        client.close()
    return kept


class TimedPool(aredis.BlockingConnectionPool):
    """A pool whose requests count, in their phases, the time they queued for a connection (`store_wait`) and the
    time they held it (`db`: the command's round trip, and, the reply being read on the event loop, the
    loop's delay in resuming the request)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._taken: dict[int, float] = {}

    async def get_connection(self, *args, **kwargs):  # redis-py's own signature
        began = time.perf_counter()
        connection = await super().get_connection(*args, **kwargs)
        taken = time.perf_counter()
        timing.add("store_wait", taken - began)
        self._taken[id(connection)] = taken
        return connection

    async def release(self, connection) -> None:
        taken = self._taken.pop(id(connection), None)
        if taken is not None:
            timing.add("db", time.perf_counter() - taken)
        await super().release(connection)


class RedisStore:
    """The store (see store.Store) over one asyncio Redis connection pool, for one server process."""

    def __init__(self, url: str):
        self.pool = TimedPool.from_url(url, max_connections=64, timeout=30, decode_responses=True)
        self.client = aredis.Redis(connection_pool=self.pool)  # a burst waits for a connection instead of failing
        self._reserve = self.client.register_script(RESERVE)
        self._pay = self.client.register_script(PAY)
        self._grab = self.client.register_script(GRAB)
        self._expire = self.client.register_script(_EXPIRE + "return #due")
        self.rng = random.Random()

    async def close(self) -> None:
        await self.client.aclose()
        await self.pool.disconnect()

    async def expire(self) -> int:
        return await self._expire(args=[time.time()])

    async def product(self, sku: str) -> dict | None:
        price, available = await self.client.hmget(f"shop:sku:{sku}", ["price", "available"])
        if price is None:
            return None
        return {"sku": sku, "price": float(price), "available": int(available)}  # type: ignore[arg-type]  # set with the price

    async def reserve(self, sku: str, user: str, key: str) -> tuple[str, dict | None]:
        result = await self._reserve(args=[time.time(), sku, user, key, uuid.uuid4().hex])
        if len(result) == 1:
            return result[0], None
        order = await self.client.hgetall(f"shop:order:{result[1]}")
        return result[0], {
            "order_id": result[1],
            "sku": order["sku"],
            "user": order["user"],
            "state": order["state"],
            "expires_at": float(order["expires_at"]),
        }

    async def pay(self, order_id: str, accept: bool) -> str:
        return await self._pay(args=[time.time(), order_id, "1" if accept else "0"])

    async def grab(self, rain: str, user: str) -> tuple[str, float | None]:
        result = await self._grab(args=[rain, user, self.rng.random()])
        return (result[0], int(result[1]) / 100) if len(result) == 2 else (result[0], None)

    async def stats(self) -> dict:
        """One consistent snapshot (a MULTI transaction reads every hash at once)."""
        skus = [key.removeprefix("shop:sku:") async for key in self.client.scan_iter("shop:sku:*")]
        rains = [key.removeprefix("shop:rain:") async for key in self.client.scan_iter("shop:rain:*")]
        async with self.client.pipeline(transaction=True) as pipe:
            for name in skus:
                pipe.hgetall(f"shop:sku:{name}")
                pipe.hgetall(f"shop:count:{name}")
            for name in rains:
                pipe.hgetall(f"shop:rain:{name}")
            replies = await pipe.execute()
        out: dict = {"skus": {}, "orders": dict.fromkeys((RESERVED, PAID, EXPIRED), 0), "rains": {}}
        for k, name in enumerate(skus):
            s, counts = replies[2 * k], replies[2 * k + 1]
            out["skus"][name] = {
                "stock": int(s["stock"]),
                "available": int(s["available"]),
                **{state: int(counts.get(state, 0)) for state in out["orders"]},
            }
            for state in out["orders"]:
                out["orders"][state] += out["skus"][name][state]
        for name, r in zip(rains, replies[2 * len(skus) :]):
            out["rains"][name] = {
                "budget": int(r["budget"]) / 100,
                "packets": int(r["packets"]),
                "grabbed": int(r["packets"]) - int(r["left_packets"]),
                "amount": (int(r["budget"]) - int(r["left_budget"])) / 100,
            }
        return out
