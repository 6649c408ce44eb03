"""What the reference shop sells and how fast it serves: one immutable configuration per start.

Worker processes of uvicorn import the app by name, so the configuration reaches them as JSON in
an environment variable.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

ENV = "FLASHSIM_TARGET_CONFIG"
ENDPOINTS = ("token", "product_page", "buy", "create_order", "pay", "grab")
"""Names of the shop's endpoints, for added service times and Server-Timing."""


@dataclass(frozen=True)
class SkuConfig:
    stock: int = 1000
    per_user_limit: int = 1
    payment_window: float = 900.0
    """Seconds an unpaid order holds its unit."""
    price: float = 1699.0


@dataclass(frozen=True)
class RainConfig:
    """A red-packet rain: a budget split at random into a number of packets."""

    budget: float = 10_000.0
    packets: int = 5000
    per_user_cap: int = 1


@dataclass(frozen=True)
class ShopConfig:
    skus: dict[str, SkuConfig] = field(default_factory=lambda: {"phone": SkuConfig()})
    rains: dict[str, RainConfig] = field(default_factory=lambda: {"rain": RainConfig()})
    slots: int | None = None
    """Requests one server process serves at once; the rest wait first come, first served. None: no limit."""
    service: dict[str, str] = field(default_factory=dict)
    """Added service time per endpoint (a distribution, e.g. exp(40ms)), spent holding a slot."""
    store: str = "sqlite:///results/target/shop.sqlite"
    fresh: bool = False

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ShopConfig:
        data = json.loads(os.environ[ENV])
        data["skus"] = {k: SkuConfig(**v) for k, v in data["skus"].items()}
        data["rains"] = {k: RainConfig(**v) for k, v in data["rains"].items()}
        return cls(**data)


def skus_from_scenario(scenario) -> dict[str, SkuConfig]:
    """The SKUs of a scenario (simulator.scenario.Scenario), priced as its sales sell them."""
    price = {sale.sku: sale.sale_price for sale in scenario.sales}
    return {
        name: SkuConfig(sku.stock, sku.per_user_limit, sku.payment_window, price.get(name, 0.0))
        for name, sku in scenario.inventory.skus.items()
    }
