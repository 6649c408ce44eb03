"""The `pricing` section of a scenario: what a shopper pays once tiered discounts and coupons are taken off.

Tiered spend discounts (¥300 off ¥3000, ¥700 off ¥5000...) take the largest step whose threshold the
price meets. Coupons are claimed before pressing buy, each claim a request to the `claim` endpoint, while
the coupon's budget lasts and the shopper is under the daily claim limit; an order stacks the largest
usable ones, up to the stacking rule. Presale add-on coupons are given to deposit holders as they pay the
balance, with no claim.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from simulator.scenario.section import GROWS, Fraction, Money, Section


class Step(Section):
    spend: Money
    """The threshold: an order at this price or more gets the step."""
    off: Money
    """Money taken off."""


class Tiers(Section):
    """Spend thresholds and what each takes off; an order gets the largest step it reaches."""

    steps: list[Step] = Field(min_length=1)
    """In rising order of spend."""
    sales: list[str] | None = None
    """The sales (sales[].name) the steps apply to. null: every sale."""

    @model_validator(mode="after")
    def _check(self) -> Tiers:
        for i, step in enumerate(self.steps):
            if not 0 < step.off < step.spend:
                raise ValueError(f"steps[{i}].off: must be above 0 and below its spend {step.spend:g}")
            if i and step.spend <= self.steps[i - 1].spend:
                raise ValueError(f"steps[{i}].spend: steps must rise in spend")
        return self

    def off(self, price: float) -> float:
        """What an order at `price` gets off."""
        return max((s.off for s in self.steps if price >= s.spend), default=0.0)


class Coupon(Section):
    """One kind of coupon: its face value, its threshold, its budget and who gets it."""

    off: Money = Field(gt=0)
    """Money it takes off an order (its face value)."""
    min_spend: Money = 0.0
    """It is usable on an order at this price or more (after member price and tiers)."""
    budget: Annotated[Money, GROWS]
    """Money the coupon may hand out: each claim (or add-on) takes its face value from it while enough is left."""
    claimers: Fraction = 0.0
    """Share of the shoppers of its sales who mean to buy and claim it first (if usable at their price)."""
    sales: list[str] | None = None
    """The sales (sales[].name) it applies to. null: every sale."""
    presale: bool = False
    """An add-on coupon: given with no claim to each deposit holder paying the balance, while the budget lasts."""

    @model_validator(mode="after")
    def _check(self) -> Coupon:
        if self.budget < self.off:
            raise ValueError(f"budget: {self.budget:g} is less than one coupon's face value {self.off:g}")
        if self.presale and self.claimers:
            raise ValueError("claimers: an add-on coupon (presale: true) is given, not claimed")
        return self


class Pricing(Section):
    tiers: Tiers | None = None
    """Tiered spend discounts. null: none."""
    coupons: dict[str, Coupon] = {}
    """Named kinds of coupon."""
    claims_per_day: int | None = Field(None, ge=1)
    """Coupons one shopper may claim a day (every kind together). null: no limit."""
    stack: int = Field(1, ge=1)
    """Coupons one order may use at most."""
