"""Promotions layered on a sale: member privileges, the presale deposit, red-packet rains, live-stream drops,
the waiting room."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from simulator.scenario.audience import Arrivals
from simulator.scenario.section import GROWS, Count, Dist, Duration, Fraction, Instant, Money, Rate, Section


class Guarantee(Section):
    """Guaranteed purchase for a top tier: units set aside that only its shoppers can buy."""

    segment: str
    """The top-tier segment (e.g. platinum)."""
    units: Annotated[Count, GROWS]
    """Units set aside."""
    hold_for: Duration | None = None
    """Units still unclaimed this long after the members' open go on general sale. null: held to the end."""


class Members(Section):
    """Member privileges in one sale."""

    segments: list[str] = Field(["member"], min_length=1)
    """Audience segments that count as members."""
    early_access: Duration = 0.0
    """Members may buy this long before the open (their own surge comes then)."""
    quota: Fraction = 0.0
    """Share of the units kept for members (they may buy the others too)."""
    quota_hold_for: Duration | None = None
    """Quota units still unsold this long after the members' open go on general sale. null: kept."""
    discount: Fraction = 0.0
    """Member price: this share off the sale price."""
    guaranteed: Guarantee | None = None


class Presale(Section):
    """Deposits taken over the days before the simulated one, and the balance-payment rush on it."""

    sale: str
    """The sale (sales[].name) whose SKU and price the presale sells."""
    units: Annotated[Count, GROWS]
    """Units allocated to the presale; the rest of the SKU's stock is sold on the day (spot)."""
    deposits_open: Instant
    """When deposits open (usually dated, days before the clock start)."""
    deposits_close: Instant
    """When deposits close (at or before the clock start)."""
    expected_deposits: Annotated[Count, GROWS]
    """Deposit orders expected over the deposit window."""
    first_day_share: Fraction = 0.3
    """Share of the deposit orders placed on the first day (the launch)."""
    last_day_share: Fraction = 0.2
    """Share placed on the last day (the last call); the other days share the rest evenly."""
    deposit: Money
    """Deposit paid."""
    deposit_counts_as: Money | None = None
    """What the deposit takes off the price ("deposit inflation": ¥100 counts as ¥300). null: its amount."""
    deposit_pay: Fraction = 0.8
    """Share of deposit orders whose deposit is paid; the others close and free their unit."""
    deposit_payment_window: Duration = 1800.0
    """How long a deposit order holds its unit unpaid."""
    balance_open: Instant
    """When balance payments open (e.g. 00:00 on 11 Nov)."""
    balance_window: Duration = 7200.0
    """How long balance payments are accepted; units of deposits unpaid by then go on sale."""
    conversion: Fraction = 0.85
    """Share of deposit holders who pay the balance; the others forfeit their deposit."""
    arrivals: Arrivals = Arrivals(build_up=60.0, build_up_share=0.05, surge_share=0.6, surge_time=60.0, decay=1800.0)
    """When deposit holders come to pay, around balance_open."""

    @property
    def credit(self) -> float:
        return self.deposit if self.deposit_counts_as is None else self.deposit_counts_as

    @model_validator(mode="after")
    def _check(self) -> Presale:
        if self.deposits_close <= self.deposits_open:
            raise ValueError("deposits_close must come after deposits_open")
        if self.deposits_close > 0:
            raise ValueError(
                "deposits_close: deposits are taken before the simulated day (at or before the clock start)"
            )
        if self.first_day_share + self.last_day_share > 1 + 1e-9:
            raise ValueError("first_day_share + last_day_share must be at most 1")
        return self


class RedPacketRain(Section):
    """A red-packet rain: participants tap a grab endpoint; a tap served while the budget lasts may win."""

    start: Instant
    """When the rain starts."""
    duration: Duration = 60.0
    """How long it rains."""
    participants: Fraction = 0.3
    """Share of the audience taking part."""
    join_time: Duration = 5.0
    """Participants join at uniform times over this long after the start."""
    tap_rate: Rate = 3.0
    """Taps per participant per second, each one request to the grab endpoint (sent without waiting)."""
    budget: Annotated[Money, GROWS]
    """Money in the pool; packets are paid from it until it is spent."""
    amount: Dist = "lognormal(5, 1)"  # type: ignore[assignment]  # parsed (validate_default)
    """Money in one packet (yuan); the last one takes what is left."""
    per_user_cap: int = Field(1, ge=1)
    """Packets one participant may win; then they stop tapping."""
    win: Fraction = 0.5
    """Chance that a served tap wins while the pool is full; it falls in proportion to what is left."""
    win_floor: Fraction = 0.1
    """The chance never falls below this share of `win`, so the last of the pool is handed out too."""
    coupon_lift: Fraction = 0.0
    """A later shopper holding a packet from this rain presses buy with this much more probability."""

    @model_validator(mode="after")
    def _check(self) -> RedPacketRain:
        if self.duration <= 0 or self.tap_rate <= 0 or self.budget <= 0:
            raise ValueError("duration, tap_rate and budget must be above 0")
        return self


class Drop(Section):
    """A host announcing an item on a live stream: a share of the viewers present go for it within seconds."""

    at: Instant
    """When the item is announced."""
    sale: str
    """The sale whose page viewers go to (a name in sales): its SKU, price and open."""
    share: Fraction
    """Share of the viewers present at `at` who go for it."""
    within: Duration = 10.0
    """Mean delay (exponential) between the announcement and a viewer's arrival."""


class LiveStream(Section):
    """A live-stream sale: viewers present over time and the items its host drops."""

    viewers: Annotated[dict[Instant, Count], GROWS]
    """Viewers present at clock times, in straight lines between them: none before the first, none after the
    last (e.g. {"20:00": 0, "20:10": 50k, "21:30": 40k, "22:00": 0})."""
    drops: list[Drop] = Field(min_length=1)
    """The items announced, each sending its share of the viewers then present."""

    @model_validator(mode="after")
    def _check(self) -> LiveStream:
        if len(self.viewers) < 2:
            raise ValueError("viewers: give at least two times (when the stream starts and ends)")
        first, last = min(self.viewers), max(self.viewers)
        for i, drop in enumerate(self.drops):
            if not first <= drop.at <= last:
                raise ValueError(f"drops[{i}].at: outside the stream (from its first viewers' time to its last)")
            if drop.within <= 0:
                raise ValueError(f"drops[{i}].within: must be longer than 0s")
        return self

    def viewers_at(self, t: float) -> float:
        """Viewers present at time t (straight lines between the given times; none outside them)."""
        times = sorted(self.viewers)
        if not times[0] <= t <= times[-1]:
            return 0.0
        return float(np.interp(t, times, [self.viewers[x] for x in times]))


class WaitingRoom(Section):
    """Queued entry: a virtual waiting room in front of the journey."""

    enabled: bool = True
    """false: ready, but off until a contingency rule switches it on."""
    admit_rate: Annotated[Rate | None, GROWS] = None
    """Shoppers let in per second, evenly spaced. null: no rate limit (a cap must be given)."""
    max_active: Annotated[int | None, GROWS] = Field(None, ge=1)
    """Cap on shoppers admitted and still in the journey; one is let in when one leaves."""
    pre_queue: bool = True
    """Shoppers arriving before their sale's open wait in a pre-queue put in random order at the open."""
    patience: Dist = "exp(15m)"  # type: ignore[assignment]  # parsed (validate_default)
    """How long a queued shopper waits before leaving (counted from the open for the pre-queue)."""
    balk_over: Duration | None = None
    """Shoppers shown an estimated wait longer than this may leave at once (see balk)."""
    balk: Fraction = 0.0
    """Share of shoppers shown a wait over balk_over who leave at once."""
    session_timeout: Duration | None = None
    """An admitted shopper idle (thinking, paying) this long loses the place and queues again. null: never."""
    sold_out_closes: bool = True
    """While a sale's stock is all taken, shoppers queued or arriving for it are told it is sold out and leave."""

    @model_validator(mode="after")
    def _check(self) -> WaitingRoom:
        if self.admit_rate is None and self.max_active is None:
            raise ValueError("give admit_rate, max_active or both: a room that admits everyone is no room")
        if self.admit_rate is not None and self.admit_rate <= 0:
            raise ValueError("admit_rate: must be above 0/s")
        return self
