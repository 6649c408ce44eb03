"""What the reference shop sells and how fast it serves: one immutable, checked configuration per start.

Worker processes of uvicorn import the app by name, so the configuration reaches them as JSON in
an environment variable (`to_env` / `from_env`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from simulator.distributions import parse_distribution

if TYPE_CHECKING:
    from simulator.scenario import Scenario

ENV = "FLASHSIM_TARGET_CONFIG"
ENDPOINTS = ("token", "product_page", "buy", "create_order", "pay", "grab")
"""Names of the shop's endpoints, for added service times."""


@dataclass(frozen=True)
class SkuConfig:
    """An item on sale: units, how many one shopper may hold, how long an unpaid order holds its unit."""

    stock: int = 1000
    per_user_limit: int = 1
    payment_window: float = 900.0
    """Seconds an unpaid order holds its unit."""
    price: float = 1699.0


@dataclass(frozen=True)
class RainConfig:
    """A red-packet rain: a budget (yuan) split at random into packets, at most per_user_cap per shopper."""

    budget: float = 10_000.0
    packets: int = 5000
    per_user_cap: int = 1


@dataclass(frozen=True)
class ShopConfig:
    """The whole shop: items, rains, capacity (slots x added service) and where its state is kept."""

    skus: dict[str, SkuConfig] = field(default_factory=lambda: {"phone": SkuConfig()})
    rains: dict[str, RainConfig] = field(default_factory=lambda: {"rain": RainConfig()})
    slots: int | None = None
    """Requests one server process serves at once; the rest wait first come, first served. None: no limit."""
    service: dict[str, str] = field(default_factory=dict)
    """Added service time per endpoint (a distribution, e.g. 20ms or exp(40ms)), spent holding a slot."""
    store: str = "sqlite:///results/target/shop.sqlite"
    """sqlite:///PATH or redis://HOST:PORT/DB."""
    fresh: bool = False
    """Wipe the store and start from the configured stock and rains (else keep what is there)."""
    page_items: int = 0
    """Related items the product page renders as HTML: application CPU, as a real shop's page costs (0: JSON)."""
    hold: dict[str, str] = field(default_factory=dict)
    """Added time per endpoint (a distribution) each of its store calls holds the store: its connection (one per
    process) and, in a write, SQLite's write lock, which every process shares (the hot row held while the
    order is written). SQLite only."""

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    def to_env(self) -> str:
        """The configuration as JSON, for the ENV variable."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str | None = None) -> ShopConfig:
        """The configuration from `to_env`'s JSON (by default, the ENV variable's)."""
        data = json.loads(os.environ[ENV] if text is None else text)
        data["skus"] = {k: SkuConfig(**v) for k, v in data["skus"].items()}
        data["rains"] = {k: RainConfig(**v) for k, v in data["rains"].items()}
        return cls(**data)


def _problems(config: ShopConfig) -> list[str]:
    """Everything wrong with a configuration, so a bad one fails before the server starts."""
    problems = []
    for name, sku in config.skus.items():
        for what, bad, need in (
            ("stock", sku.stock < 0, ">= 0"),
            ("per_user_limit", sku.per_user_limit < 1, ">= 1"),
            ("payment_window", sku.payment_window <= 0, "> 0 s"),
            ("price", sku.price < 0, ">= 0"),
        ):
            if bad:
                problems.append(f"sku {name!r}: {what} {getattr(sku, what)}: use {need}")
    for name, rain in config.rains.items():
        for what, bad, need in (
            ("packets", rain.packets < 1, ">= 1"),
            ("per_user_cap", rain.per_user_cap < 1, ">= 1"),
            ("budget", round(rain.budget * 100) < rain.packets, "at least 0.01 per packet"),
        ):
            if bad:
                problems.append(f"rain {name!r}: {what} {getattr(rain, what)}: use {need}")
    if config.page_items < 0:
        problems.append(f"page_items {config.page_items}: use 0 or more")
    if config.slots is not None and config.slots < 1:
        problems.append(f"slots {config.slots}: use 1 or more (or none for no limit)")
    for what, times in (("service", config.service), ("hold", config.hold)):
        for name, text in times.items():
            if name not in ENDPOINTS:
                problems.append(f"{what} {name!r}: no such endpoint; endpoints are {', '.join(ENDPOINTS)}")
                continue
            try:
                parse_distribution(text, None)
            except ValueError as exc:
                problems.append(f"{what} {name}={text}: {exc}")
    if config.hold and not config.store.startswith("sqlite:///"):
        problems.append(f"hold: a store call can be held in SQLite only, not in {config.store!r}")
    if not config.store.startswith(("sqlite:///", "redis://")):
        problems.append(f"store {config.store!r}: use sqlite:///PATH or redis://HOST:PORT/DB")
    return problems


def config_from_scenario(scenario: Scenario, **fields) -> ShopConfig:
    """A shop selling a scenario's SKUs (stock, limits, payment windows) at its sales' prices.

    Replay a scenario first (simulator.scenario.scaled) to sell a load test's share of the stock on
    its faster clock; `fields` are the other ShopConfig fields (slots, service, store, fresh, rains).
    """
    price = {sale.sku: sale.sale_price for sale in scenario.sales}
    skus = {
        name: SkuConfig(sku.stock, sku.per_user_limit, sku.payment_window, price.get(name, 0.0))
        for name, sku in scenario.inventory.skus.items()
    }
    return ShopConfig(skus=skus, **fields)
