"""The shop: its sales, the server system that answers the journey's steps, and its inventory."""

from __future__ import annotations

from pydantic import Field, model_validator

from simulator.scenario.audience import Arrivals
from simulator.scenario.promotions import Members
from simulator.scenario.section import Count, Dist, Duration, Fraction, Instant, Money, Section


class Sale(Section):
    name: str
    """Label of the sale in results."""
    open: Instant
    """When buying opens."""
    sku: str
    """The item on sale (a key of inventory.skus)."""
    price: Money
    """List price."""
    discount: Money = 0.0
    """Amount off the list price during the sale."""
    audience_share: Fraction = 1.0
    """Share of the audience coming for this sale; shares over all sales sum to 1."""
    arrivals: Arrivals | None = None
    """This sale's own arrival curve, if it differs from the audience's."""
    members: Members | None = None
    """Member privileges: early access, a quota of units, guaranteed purchase, member price."""

    @property
    def sale_price(self) -> float:
        return self.price - self.discount

    @model_validator(mode="after")
    def _check(self) -> Sale:
        if self.discount > self.price:
            raise ValueError(f"discount {self.discount:g} exceeds price {self.price:g}")
        return self


class PoolSpec(Section):
    """A pool of workers serving requests from one bounded FIFO queue."""

    workers: int = Field(ge=1)
    """Requests served at once (threads, connections, pods x concurrency)."""
    queue_limit: int | None = Field(None, ge=0)
    """Requests that may wait; one more is rejected at once. null: unbounded."""
    shed_expired: bool = False
    """Skip queued requests whose client has already timed out instead of serving them."""


class EndpointSpec(Section):
    pool: str
    """The pool serving this endpoint (a key of system.pools)."""
    service: Dist
    """Service time of one request on one worker."""
    timeout: Duration | None = 5.0
    """Client timeout: after it the client counts a failure while the server may still work. null: none."""


JOURNEY = ("product_page", "buy", "create_order", "pay")
"""The shopper journey, in order; each step is a request to the endpoint of the same name."""


class Endpoints(Section):
    """One endpoint per journey step; a step left out is not modelled as a request (it always succeeds)."""

    product_page: EndpointSpec | None = None
    buy: EndpointSpec | None = None
    create_order: EndpointSpec | None = None
    pay: EndpointSpec | None = None
    grab: EndpointSpec | None = None
    """Where red-packet taps go (needed by red_packets), usually on a pool of its own."""

    def items(self) -> list[tuple[str, EndpointSpec]]:
        """The modelled endpoints: the journey's in order, then the grab endpoint."""
        return [(step, ep) for step in (*JOURNEY, "grab") if (ep := getattr(self, step)) is not None]


class System(Section):
    pools: dict[str, PoolSpec]
    """Named pools of workers."""
    endpoints: Endpoints
    """Where each journey step is served."""

    @model_validator(mode="after")
    def _check(self) -> System:
        for step, ep in self.endpoints.items():
            if ep.pool not in self.pools:
                raise ValueError(f"endpoints.{step}.pool: no pool named {ep.pool!r}; pools are {sorted(self.pools)}")
        return self


class Sku(Section):
    stock: Count
    """Units on sale."""
    per_user_limit: int = Field(1, ge=1)
    """Units one shopper may hold (reserved or bought)."""
    payment_window: Duration = 900.0
    """How long an order holds its unit unpaid before the unit returns to stock."""


class Inventory(Section):
    skus: dict[str, Sku]
