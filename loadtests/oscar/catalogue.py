"""What the Oscar target sells, and what it sold: the scenario's SKUs as Oscar products with stock records,
and after a run, per SKU, the units Oscar allocated against the units it had (an oversell check)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oscar.core.loading import get_model

from simulator.scenario import Scenario

PARTNER = "flashsim"


@dataclass(frozen=True)
class Sold:
    """One SKU after a run, read from Oscar's own tables."""

    sku: str
    product: int
    stock: int
    allocated: int
    """Units Oscar allocated to orders not cancelled (its stock record's num_allocated)."""
    ordered: int
    """Units on order lines of orders not cancelled."""

    @property
    def oversold(self) -> int:
        return max(0, self.allocated - self.stock)


def product_ids(scenario: Scenario) -> dict[str, int]:
    """Each SKU's Oscar product id: the mapping's `sku_ids` where given, else its place in the inventory."""
    given = scenario.loadtest.sku_ids
    return {name: int(given.get(name, i + 1)) for i, name in enumerate(scenario.inventory.skus)}


def stock_shop(scenario: Scenario) -> None:
    """Create the scenario's SKUs (a load test replays it scaled: its share of the stock) with their stock
    and sale prices, each under its product id (product_ids)."""
    product_class = get_model("catalogue", "ProductClass").objects.create(
        name="Flash sale", slug="flash-sale", requires_shipping=False, track_stock=True
    )
    partner = get_model("partner", "Partner").objects.create(name=PARTNER, code=PARTNER)
    product, stock_record = get_model("catalogue", "Product"), get_model("partner", "StockRecord")
    price = {sale.sku: sale.sale_price for sale in scenario.sales}
    ids = product_ids(scenario)
    for name, sku in scenario.inventory.skus.items():
        item = product.objects.create(
            pk=ids[name], upc=name, title=name, structure="standalone", product_class=product_class
        )
        stock_record.objects.create(
            product=item,
            partner=partner,
            partner_sku=name,
            price=Decimal(str(price.get(name, 0))),
            price_currency="CNY",
            num_in_stock=sku.stock,
            num_allocated=0,
        )


PASSWORD = "flashsim"


def open_accounts(count: int) -> None:
    """Shoppers' accounts shopper-0@example.com ... (password PASSWORD), for a mapping that logs shoppers in."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    password = make_password(PASSWORD)
    emails = [f"shopper-{n}@example.com" for n in range(count)]
    user = get_user_model()
    user.objects.bulk_create([user(username=e, email=e, password=password) for e in emails], batch_size=500)


def sold(scenario: Scenario) -> list[Sold]:
    """Per SKU: stock, units allocated and units on live orders, as Oscar's database has them now."""
    stock_record, line = get_model("partner", "StockRecord"), get_model("order", "Line")
    out = []
    for name, pk in product_ids(scenario).items():
        record = stock_record.objects.get(product_id=pk)
        lines = line.objects.filter(product_id=pk).exclude(order__status="cancelled")
        ordered = sum(lines.values_list("quantity", flat=True))
        out.append(Sold(name, pk, record.num_in_stock, record.num_allocated or 0, ordered))
    return out


def placed() -> int:
    """Orders in Oscar's database, cancelled ones too."""
    return get_model("order", "Order").objects.count()


def missing_orders(numbers: list[str]) -> list[str]:
    """Of the order numbers a load test saw placed, those Oscar's database does not hold."""
    known = set(get_model("order", "Order").objects.filter(number__in=numbers).values_list("number", flat=True))
    return [n for n in numbers if n not in known]
