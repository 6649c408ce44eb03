"""The shop: its sales, the server system that answers the journey's steps, and its inventory."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from simulator.scenario.audience import Arrivals
from simulator.scenario.promotions import Members
from simulator.scenario.section import GROWS, Count, Dist, Duration, Fraction, Instant, Money, Section


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

    workers: Annotated[int, GROWS] = Field(ge=1)
    """Requests served at once (threads, connections, pods x concurrency)."""
    queue_limit: Annotated[int | None, GROWS] = Field(None, ge=0)
    """Requests that may wait; one more is rejected at once. null: unbounded."""
    shed_expired: bool = False
    """Skip queued requests whose client has already timed out instead of serving them."""
    processes: Annotated[int | None, GROWS] = Field(None, ge=1)
    """Server processes, each on a CPU core of its own, sharing the workers; the endpoints' `cpu` demand
    runs on the core of the process serving the request, shared by its requests in flight (an async
    worker is one process serving all its requests on one core). null: CPU is not modelled apart."""
    cores: Annotated[int | None, GROWS] = Field(None, ge=1)
    """CPU cores the processes run on. null: one each. Fewer than the processes (more processes than cores,
    as a pre-fork server often runs): the operating system shares the cores out, and while more processes
    have work than there are cores, each runs at cores / busy processes of a core's speed."""
    cpu_order: Literal["shared", "fifo"] = "shared"
    """How a process's core serves the CPU work of its requests in flight: shared, each at 1/n of its speed
    (processor sharing, as a preemptive scheduler does), or fifo, one at a time in the order they came (as an
    event loop runs each ready request to its next wait)."""
    cpu_wake: Duration = 0.0
    """CPU a request pays on top of its demand when it finds its process idle: the event loop waking from its
    wait. Busy, one wake-up serves many requests, so a request costs less under load (M/G/1 with exceptional
    first service)."""
    cpu_reference: Duration | None = None
    """How long the target's reference work took on these cores while the `cpu` demands were measured (the
    cores' speed then; `flashsim calibrate` writes it). `flashsim validate` scales the demands by the time it
    took in the run it checks: a shared machine's cores change speed from one run to the next."""
    cpu_pace: list[float] | None = None
    """The reference work's time on these cores (seconds), second by second from the start of the run: the
    `cpu` demands are scaled by pace / cpu_reference in each second (the last value holds after the list).
    `flashsim validate` sets it from the run it checks; set by hand, it rehearses cores slowed by a noisy host."""

    @model_validator(mode="after")
    def _pace(self) -> PoolSpec:
        if self.cores is not None and self.processes is None:
            raise ValueError("cores needs processes: the server processes that run on them")
        if self.cpu_pace is not None:
            if self.cpu_reference is None:
                raise ValueError("cpu_pace needs cpu_reference: the reference work's time the demands were read at")
            if not self.cpu_pace or min(self.cpu_pace) <= 0:
                raise ValueError("cpu_pace: give one time > 0 per second")
        return self


class LockSpec(Section):
    """Mutual exclusion: one request at a time holds it (the hot row of the SKU everyone buys, SQLite's
    single writer, Redis's one thread). Throughput through it is capped at 1 / hold time."""

    per_sku: bool = False
    """One lock per SKU (the stock row of each): a request takes the one of its shopper's SKU, so requests for
    different SKUs do not wait for each other and each SKU's throughput is capped at 1 / hold time."""


class ConnectionPoolSpec(Section):
    """Connections shared by the endpoints that name it; a request holds its worker while it waits for one."""

    size: Annotated[int, GROWS] = Field(ge=1)
    """Connections in the pool."""


class CacheSpec(Section):
    """A share of requests answered from a cache, holding nothing but their worker."""

    hit: Fraction
    """Share of requests the cache answers."""
    service: Dist
    """Time to answer from the cache."""


class EndpointSpec(Section):
    pool: str
    """The pool serving this endpoint (a key of system.pools)."""
    service: Dist
    """Service time of one request on one worker."""
    timeout: Duration | None = 5.0
    """Client timeout: after it the client counts a failure while the server may still work. null: none."""
    cpu: Dist | None = None
    """CPU demand, processor-shared on the serving process's core (needs the pool's `processes`); taken
    before `service`, which is then the worker's time off the CPU (waiting on I/O, say)."""
    connection: str | None = None
    """A connection pool (a key of system.connections): after `service`, the request waits for a
    connection and holds it through `hold` and `db`."""
    lock: str | None = None
    """A lock (a key of system.locks): after taking the connection, if any, the request waits for the lock
    and holds it for `hold`."""
    hold: Dist | None = None
    """Time holding the lock (needs `lock`)."""
    db: Dist | None = None
    """Time holding the connection after the lock is given back (needs `connection`)."""
    cpu_held: Dist | None = None
    """CPU demand run after `db` on the serving process's core, still holding the connection: an asynchronous
    client reads its reply on the event loop, so the connection stays taken while the request waits its turn
    there (needs `connection` and the pool's `processes`)."""
    cache: CacheSpec | None = None
    """A share of requests answered from a cache at once, holding nothing else."""
    requests: int = Field(1, ge=1)
    """Requests the step sends one after another (add to basket, then check out), each queued and served
    on its own as this endpoint's: the step's effect (a reservation, a payment) comes with the last."""

    @property
    def staged(self) -> bool:
        """Whether a request holds more than its worker (served through resources, not by one draw)."""
        return any(x is not None for x in (self.cpu, self.connection, self.lock, self.db, self.cpu_held, self.cache))

    @model_validator(mode="after")
    def _check(self) -> EndpointSpec:
        if (self.lock is None) != (self.hold is None):
            raise ValueError("lock and hold go together: the lock taken, and how long it is held")
        if self.db is not None and self.connection is None:
            raise ValueError("db: the time holding a connection needs a connection pool (connection: NAME)")
        if self.cpu_held is not None and self.connection is None:
            raise ValueError("cpu_held: CPU run holding a connection needs a connection pool (connection: NAME)")
        return self


JOURNEY = ("product_page", "buy", "create_order", "pay")
"""The shopper journey, in order; each step is a request to the endpoint of the same name."""


class Endpoints(Section):
    """One endpoint per journey step; a step left out is not modelled as a request (it always succeeds)."""

    token: EndpointSpec | None = None
    """The waiting-room token every shopper asks for first, where the system has one (a load test's target)."""
    product_page: EndpointSpec | None = None
    buy: EndpointSpec | None = None
    create_order: EndpointSpec | None = None
    pay: EndpointSpec | None = None
    grab: EndpointSpec | None = None
    """Where red-packet taps go (needed by red_packets), usually on a pool of its own."""
    claim: EndpointSpec | None = None
    """Where coupon claims go (pricing.coupons), one request per claim."""

    def items(self) -> list[tuple[str, EndpointSpec]]:
        """The modelled endpoints: the token, the journey's in order, then the grab and claim endpoints."""
        return [(step, ep) for step in ("token", *JOURNEY, "grab", "claim") if (ep := getattr(self, step)) is not None]


class System(Section):
    pools: dict[str, PoolSpec]
    """Named pools of workers."""
    locks: dict[str, LockSpec] = {}
    """Named locks endpoints may hold (mutual exclusion)."""
    connections: dict[str, ConnectionPoolSpec] = {}
    """Named connection pools endpoints may share."""
    endpoints: Endpoints
    """Where each journey step is served."""

    @model_validator(mode="after")
    def _check(self) -> System:
        for step, ep in self.endpoints.items():
            if ep.pool not in self.pools:
                raise ValueError(f"endpoints.{step}.pool: no pool named {ep.pool!r}; pools are {sorted(self.pools)}")
            if ep.lock is not None and ep.lock not in self.locks:
                raise ValueError(f"endpoints.{step}.lock: no lock named {ep.lock!r}; locks are {sorted(self.locks)}")
            if ep.connection is not None and ep.connection not in self.connections:
                raise ValueError(
                    f"endpoints.{step}.connection: no connection pool named {ep.connection!r}; "
                    f"connections are {sorted(self.connections)}"
                )
            for field, demand in (("cpu", ep.cpu), ("cpu_held", ep.cpu_held)):
                if demand is not None and self.pools[ep.pool].processes is None:
                    raise ValueError(
                        f"endpoints.{step}.{field}: pool {ep.pool!r} gives no processes to run CPU demand on "
                        f"(system.pools.{ep.pool}.processes)"
                    )
        return self


class Sku(Section):
    stock: Annotated[Count, GROWS]
    """Units on sale."""
    per_user_limit: int = Field(1, ge=1)
    """Units one shopper may hold (reserved or bought)."""
    payment_window: Duration = 900.0
    """How long an order holds its unit unpaid before the unit returns to stock."""


class Inventory(Section):
    skus: dict[str, Sku]
