"""The `fulfilment` section of a scenario: the warehouse that picks, packs and ships the paid orders.

Orders paid in the sale queue at the warehouse first come, first served; its staff, by shifts repeating
daily, pick and pack a number of orders an hour each. The promise is to ship each order within a time of
its payment.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from simulator.scenario.section import GROWS, Duration, Fraction, Section
from simulator.scenario.support import Hours


class WarehouseShift(Hours):
    staff: Annotated[int, GROWS] = Field(ge=0)
    """Pickers and packers on this shift."""


class Fulfilment(Section):
    picks_per_hour: float = Field(gt=0)
    """Orders one person picks and packs an hour."""
    ship_within: Duration = 172800.0
    """The promise: each order shipped within this of its payment."""
    roster: list[WarehouseShift] = Field(min_length=1)
    """Shifts by time of day; staff of overlapping shifts add up."""
    restock_lead: Duration | None = None
    """Restock reservations (the playbook's answer to a sell-out) are supplied by backup suppliers this long
    after they are taken; each then joins the queue as an order, its promise counted from then. null: they
    are not followed here."""
    until: Duration | None = None
    """How long after the clock start the warehouse is followed. null: the horizon plus restock_lead plus
    ship_within, so every order's promise is judged."""
    breach_target: Fraction | None = None
    """The most orders allowed to miss the promise (what `flashsim size --what warehouse` aims for)."""
