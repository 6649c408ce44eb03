"""The `support` section of a scenario: what makes shoppers contact support, the channels, the roster.

Contacts come from what happens in the sale (a share of each kind of event, after a delay) and from a
steady rate that would come anyway. Chat agents hold several chats at once, phone agents one call;
a chatbot answers a share of chats; escalated contacts go to an expert tier. Agents work shifts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, get_args

import numpy as np
from pydantic import Field, field_validator, model_validator

from simulator import units
from simulator.scenario.section import GROWS, Dist, Duration, Fraction, Instant, Rate, Section
from simulator.units import DAY

Source = Literal["steady", "bought", "payment_failed", "sold_out", "abandoned_queue", "gave_up", "timed_out"]
SOURCES: tuple[Source, ...] = get_args(Source)
"""What makes a shopper contact support: nothing in particular (a steady rate), an order bought, a
payment declined, being told "sold out", leaving the waiting room's queue, giving up on errors, a
request timing out."""
TEAMS = ("chat", "phone", "experts")
"""Who answers: chat agents, phone agents, the expert tier (escalations only)."""


class Contacts(Section):
    """One source of contacts."""

    share: Fraction | None = None
    """Share of the source's events that become a contact (not for steady)."""
    rate: Annotated[Rate | None, GROWS] = None
    """Contacts per second (steady only)."""
    delay: Dist = 0.0  # type: ignore[assignment]  # parsed (validate_default)
    """Time from the event to the contact."""
    handle: Dist = "lognormal(5m, 0.6)"  # type: ignore[assignment]  # parsed (validate_default)
    """Agent time for one contact of this kind (for chat: one of the agent's concurrent chats)."""
    escalate: Fraction = 0.0
    """Share of answered contacts the agent passes on to the expert tier."""


class Channel(Section):
    share: Fraction
    """Share of contacts that come by this channel (chat and phone shares sum to 1)."""
    concurrency: int = Field(1, ge=1)
    """Contacts one agent handles at once (chats; 1 for phone)."""
    patience: Dist | None = "exp(3m)"  # type: ignore[assignment]  # parsed (validate_default)
    """How long a waiting customer waits before hanging up / closing the chat. null: never."""
    chatbot: Fraction = 0.0
    """Share of this channel's contacts a chatbot resolves before any agent."""
    max_sessions: Annotated[int | None, GROWS] = Field(None, ge=1)
    """Cap on contacts handled at once over all agents (e.g. a chat system sized for 2000). null: none."""


class Experts(Section):
    """The expert tier: escalated contacts only, one at a time."""

    handle: Dist = "lognormal(15m, 0.6)"  # type: ignore[assignment]  # parsed (validate_default)
    patience: Dist | None = None
    """How long an escalated customer waits for an expert. null: never leaves."""


class Hours(Section):
    """A shift's hours by time of day, repeating every day."""

    name: str
    start: str
    """Clock time of day the shift starts, e.g. 08:00."""
    end: str
    """Clock time of day it ends, e.g. 16:00 or 24:00 (a shift ending at or before its start runs past midnight)."""

    @field_validator("start", "end")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        time_of_day(value)  # checked field by field, so a bad time is reported at its own field
        return value

    @property
    def hours(self) -> tuple[float, float]:
        """Start and end as seconds after midnight; the end is past the start (over midnight: + 24 h)."""
        start, end = time_of_day(self.start), time_of_day(self.end)
        return start, end if end > start else end + DAY


class Shift(Hours):
    chat: Annotated[int, GROWS] = Field(0, ge=0)
    """Chat agents on this shift."""
    phone: Annotated[int, GROWS] = Field(0, ge=0)
    """Phone agents on this shift."""
    experts: Annotated[int, GROWS] = Field(0, ge=0)
    """Expert-tier agents on this shift."""
    temporary: bool = False
    """Temporary agents (e.g. hired and trained for the promotion): counted apart in results."""


def shifts_on(shifts: Sequence[Hours], first: float, minutes: int) -> np.ndarray:
    """on[s, m]: shift s is on at the start of minute m, minute 0 starting `first` seconds after a midnight."""
    of_day = (first + 60.0 * np.arange(minutes)) % DAY
    on = np.zeros((len(shifts), minutes), dtype=bool)
    for s, shift in enumerate(shifts):
        start, end = shift.hours
        on[s] = (of_day - start) % DAY < end - start  # also a shift that began before minute 0
    return on


def time_of_day(text: str) -> float:
    """Seconds after midnight of a time of day, 00:00 to 24:00."""
    if isinstance(text, str) and text.strip() == "24:00":
        return DAY
    clock = units.parse_clock(text)
    if clock.day is not None:
        raise ValueError(f"{text!r}: give a time of day, without a date")
    return clock.second_of_day


class Support(Section):
    """Support contacts, channels and the agent roster."""

    contacts: dict[Source, Contacts]
    """Sources of contacts: steady, bought, payment_failed, sold_out, abandoned_queue, gave_up, timed_out."""
    channels: dict[Literal["chat", "phone"], Channel] = {"phone": Channel(share=1.0)}
    experts: Experts = Experts()
    roster: list[Shift] = Field(min_length=1)
    """Shifts by time of day; agents of overlapping shifts add up."""
    interval: Duration = 900.0
    """Length of the intervals results and staffing are given per."""
    until: Instant | None = None
    """Support runs to this time (contacts keep coming after the sale). null: the clock's horizon."""

    @model_validator(mode="after")
    def _check(self) -> Support:
        problems = []
        for source, c in self.contacts.items():
            if source == "steady" and (c.rate is None or c.share is not None):
                problems.append("contacts.steady: give a rate (contacts per second), not a share")
            if source != "steady" and (c.share is None or c.rate is not None):
                problems.append(f"contacts.{source}: give a share of the events, not a rate")
        total = sum(ch.share for ch in self.channels.values())
        if abs(total - 1) > 1e-6:
            problems.append(f"channels: shares sum to {total:g}; they must sum to 1")
        if "phone" in self.channels and self.channels["phone"].concurrency != 1:
            problems.append("channels.phone.concurrency: a phone agent takes one call at a time")
        if self.interval < 60 or self.interval % 60:
            problems.append("interval: give whole minutes")
        names = [shift.name for shift in self.roster]
        if repeated := sorted({name for name in names if names.count(name) > 1}):
            problems.append(f"roster: shift names repeat ({', '.join(repeated)}); results are given per shift name")
        if problems:
            raise ValueError("\n".join(problems))
        return self
