"""Stock: units reserved atomically by orders, sold when paid, returned when the payment window expires.

At every instant, for each SKU: sold + reserved + available == initial + replenished. Order
creation is idempotent per shopper (a retried request finds the order its timed-out attempt
created), and a shopper never holds more than the SKU's per-user limit.

Units sit in three buckets: on general sale, kept for members (the member quota) and set aside for
a top tier (guaranteed purchase). A shopper's tier says which buckets they may take from: a top-tier
shopper takes a set-aside unit first, a member a quota unit first, anyone a general unit.
"""

from __future__ import annotations

from simpy import Environment

from simulator.engine import at, series
from simulator.scenario import Sku

PENDING, PAID, EXPIRED = "pending", "paid", "expired"
GENERAL, MEMBER, TOP = 0, 1, 2
"""Shopper tiers, and the buckets of units kept for each."""
SOLD_OUT, LIMIT, DECLINED = "sold out", "limit reached", "declined"


class Order:
    """One unit held for one shopper until paid or expired."""

    __slots__ = ("stock", "holder", "price", "state", "created", "bucket")

    def __init__(self, stock: Stock, holder: int, price: float, created: float, bucket: int):
        self.stock = stock
        self.holder = holder
        self.price = price
        self.state = PENDING
        self.created = created
        self.bucket = bucket


class Stock:
    """The units of one SKU and the orders holding them."""

    def __init__(
        self, env: Environment, name: str, sku: Sku, horizon: float, quota: int = 0, guaranteed: int = 0, key: int = 0
    ):
        self.env = env
        self.name = name
        self.key = key
        """Its index among the inventory's SKUs: which lock its requests take where there is one per SKU."""
        self.initial = sku.stock
        self.per_user_limit = sku.per_user_limit
        self.payment_window = sku.payment_window
        self.available = sku.stock
        self.buckets = [sku.stock - quota - guaranteed, quota, guaranteed]
        self.released = [True, False, False]  # a released bucket's returns go to general sale
        self.taken = [[0] * 3 for _ in range(3)]  # taken[bucket][tier]: orders from each bucket by each tier
        self.reserved = self.sold = self.expired = self.declined = self.replenished = 0
        self.restock_reservations = 0
        self.restock_times: list[float] = []
        """When each restock reservation was taken (the warehouse ships them once the units arrive)."""
        self.revenue = 0.0
        self.sold_out_at: float | None = None
        self.out = [0, 0, 0]
        self.peak_out = [0, 0, 0]
        """Most units out of each bucket at once (taken by orders, less those that came back)."""
        self.refused_at: float | None = None
        """When a shopper was first told "sold out" (a bucket they may use was empty)."""
        self.all_sold_at: float | None = None
        self._pending: dict[int, Order] = {}
        self._held: dict[int, int] = {}
        self.s_available = series(horizon)
        self.s_reserved = series(horizon)
        self.s_sold = series(horizon)
        self.s_orders = series(horizon)
        self.s_paid = series(horizon)
        self.s_expired = series(horizon)
        self.s_declined = series(horizon)

    def in_stock(self, tier: int = GENERAL) -> bool:
        """What a stock check answers a shopper of this tier (hot path)."""
        b = self.buckets
        return b[0] > 0 or (tier > GENERAL and (b[1] > 0 or (tier == TOP and b[2] > 0)))

    def reserve(self, holder: int, price: float, tier: int = GENERAL) -> Order | str:
        """Create an order holding one unit, atomically; or say why not (SOLD_OUT, LIMIT)."""
        existing = self._pending.get(holder)
        if existing is not None:
            return existing
        if self._held.get(holder, 0) >= self.per_user_limit:
            return LIMIT
        buckets = self.buckets
        bucket = next((k for k in range(tier, -1, -1) if buckets[k] > 0), None)
        if bucket is None:
            if self.refused_at is None:
                self.refused_at = self.env.now  # once per SKU
            return SOLD_OUT
        now = self.env._now  # hot path (every order): _now, not the property
        buckets[bucket] -= 1
        self._take(bucket)
        self.taken[bucket][tier] += 1
        self.available -= 1
        self.reserved += 1
        self._held[holder] = self._held.get(holder, 0) + 1
        if self.available == 0 and self.sold_out_at is None:
            self.sold_out_at = now
        order = self._pending[holder] = Order(self, holder, price, now, bucket)
        self.s_orders[int(now)] += 1
        at(self.env, now + self.payment_window, lambda _, o=order: self._expire(o))
        return order

    def hold(self, holders: int, price: float, until: float) -> list[Order]:
        """Units held for presale deposits, one each for holders -1, -2...: pending until paid, the unpaid
        returned at `until` in the order held. One timer for all (a full-size presale holds millions), which
        fires them in the order a timer each would: those timers would be consecutive at the same instant."""
        now = self.env._now
        self.buckets[GENERAL] -= holders
        self.available -= holders
        self.reserved += holders
        orders = []
        for holder in range(-1, -1 - holders, -1):
            self._take(GENERAL)
            order = self._pending[holder] = Order(self, holder, price, now, GENERAL)
            self._held[holder] = 1
            orders.append(order)

        def expire(_: object) -> None:
            for order in orders:
                self._expire(order)

        at(self.env, until, expire)
        return orders

    def pay(self, order: Order, accepted: bool) -> str:
        """Settle an order: PAID (also when already paid: payment is idempotent), DECLINED or EXPIRED."""
        if order.state != PENDING:
            return order.state
        if not accepted:
            self.declined += 1
            self.s_declined[int(self.env._now)] += 1  # hot path (every payment): _now, not the property
            return DECLINED
        now = self.env._now  # hot path: _now, not the property
        order.state = PAID
        del self._pending[order.holder]
        self.reserved -= 1
        self.sold += 1
        self.revenue += order.price
        self.s_paid[int(now)] += 1
        if self.sold == self.initial + self.replenished:
            self.all_sold_at = now
        return PAID

    def _expire(self, order: Order) -> None:
        """The payment window closes: an unpaid order returns its unit."""
        if order.state != PENDING:
            return
        order.state = EXPIRED
        del self._pending[order.holder]
        self._held[order.holder] -= 1
        self.reserved -= 1
        self.available += 1
        self.buckets[0 if self.released[order.bucket] else order.bucket] += 1
        self.out[order.bucket] -= 1
        self.expired += 1
        self.s_expired[int(self.env._now)] += 1  # hot path (every unpaid order): _now, not the property

    def _take(self, bucket: int) -> None:
        self.out[bucket] += 1
        self.peak_out[bucket] = max(self.peak_out[bucket], self.out[bucket])

    def promise_restock(self) -> None:
        """A sold-out shopper takes a restock reservation: a unit owed once backup suppliers deliver."""
        self.restock_reservations += 1
        self.restock_times.append(self.env._now)

    def release(self, bucket: int) -> None:
        """Units kept in a bucket (member quota, set aside) go on general sale, now and when returned."""
        self.buckets[GENERAL] += self.buckets[bucket]
        self.buckets[bucket] = 0
        self.released[bucket] = True

    def add(self, units: int) -> None:
        """Units arrive (a transfer from a backup warehouse or another channel) and go on general sale."""
        self.buckets[GENERAL] += units
        self.available += units
        self.replenished += units
        if self.available > 0:
            self.all_sold_at = None

    def sample(self, second: int) -> None:
        """Record the stock levels at a second boundary."""
        self.s_available[second] = self.available
        self.s_reserved[second] = self.reserved
        self.s_sold[second] = self.sold

    def snapshot(self) -> dict:
        return {
            "initial": self.initial,
            "available": self.available,
            "reserved": self.reserved,
            "sold": self.sold,
            "expired": self.expired,
            "declined": self.declined,
            "replenished": self.replenished,
            "restock_reservations": self.restock_reservations,
            "restock_times": self.restock_times,
            "kept": self.buckets[1:],
            "taken": self.taken,
            "revenue": self.revenue,
            "sold_out_at": self.sold_out_at,
            "peak_out": list(self.peak_out),
            "refused_at": self.refused_at,
            "all_sold_at": self.all_sold_at,
            "series": {
                "available": self.s_available,
                "reserved": self.s_reserved,
                "sold": self.s_sold,
                "orders": self.s_orders,
                "paid": self.s_paid,
                "expired": self.s_expired,
                "declined": self.s_declined,
            },
        }
