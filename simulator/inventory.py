"""Stock: units reserved atomically by orders, sold when paid, returned when the payment window expires.

At every instant, for each SKU: sold + reserved + available == initial. Order creation is
idempotent per shopper (a retried request finds the order its timed-out attempt created), and a
shopper never holds more than the SKU's per-user limit.
"""

from __future__ import annotations

from simpy import Environment, Event
from simpy.core import NORMAL

from simulator.metrics import series
from simulator.scenario import Sku

PENDING, PAID, EXPIRED = "pending", "paid", "expired"
SOLD_OUT, LIMIT, DECLINED = "sold out", "limit reached", "declined"


class Order:
    """One unit held for one shopper until paid or expired."""

    __slots__ = ("stock", "holder", "price", "state", "created")

    def __init__(self, stock: Stock, holder: int, price: float, created: float):
        self.stock = stock
        self.holder = holder
        self.price = price
        self.state = PENDING
        self.created = created


class Stock:
    """The units of one SKU and the orders holding them."""

    def __init__(self, env: Environment, name: str, sku: Sku, horizon: float):
        self.env = env
        self.name = name
        self.initial = sku.stock
        self.per_user_limit = sku.per_user_limit
        self.payment_window = sku.payment_window
        self.available = sku.stock
        self.reserved = self.sold = self.expired = self.declined = 0
        self.revenue = 0.0
        self.sold_out_at: float | None = None
        self.all_sold_at: float | None = None
        self._pending: dict[int, Order] = {}
        self._held: dict[int, int] = {}
        self.s_available = series(horizon)
        self.s_reserved = series(horizon)
        self.s_sold = series(horizon)
        self.s_orders = series(horizon)
        self.s_paid = series(horizon)
        self.s_expired = series(horizon)

    def in_stock(self) -> bool:
        """What a stock check answers."""
        return self.available > 0

    def reserve(self, holder: int, price: float) -> Order | str:
        """Create an order holding one unit, atomically; or say why not (SOLD_OUT, LIMIT)."""
        existing = self._pending.get(holder)
        if existing is not None:
            return existing
        if self._held.get(holder, 0) >= self.per_user_limit:
            return LIMIT
        if self.available <= 0:
            return SOLD_OUT
        now = self.env._now
        self.available -= 1
        self.reserved += 1
        self._held[holder] = self._held.get(holder, 0) + 1
        if self.available == 0 and self.sold_out_at is None:
            self.sold_out_at = now
        order = self._pending[holder] = Order(self, holder, price, now)
        self.s_orders[int(now)] += 1
        expiry = Event(self.env)
        expiry._ok = True
        expiry.callbacks.append(lambda _, o=order: self._expire(o))
        self.env.schedule(expiry, NORMAL, self.payment_window)
        return order

    def pay(self, order: Order, accepted: bool) -> str:
        """Settle an order: PAID (also when already paid: payment is idempotent), DECLINED or EXPIRED."""
        if order.state != PENDING:
            return order.state
        if not accepted:
            self.declined += 1
            return DECLINED
        now = self.env._now
        order.state = PAID
        del self._pending[order.holder]
        self.reserved -= 1
        self.sold += 1
        self.revenue += order.price
        self.s_paid[int(now)] += 1
        if self.sold == self.initial:
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
        self.expired += 1
        self.s_expired[int(self.env._now)] += 1

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
            "revenue": self.revenue,
            "sold_out_at": self.sold_out_at,
            "all_sold_at": self.all_sold_at,
            "series": {
                "available": self.s_available,
                "reserved": self.s_reserved,
                "sold": self.s_sold,
                "orders": self.s_orders,
                "paid": self.s_paid,
                "expired": self.s_expired,
            },
        }
