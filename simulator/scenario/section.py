"""The base of every scenario section and the field types that read human units at the boundary."""

from __future__ import annotations

import typing
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationInfo, WithJsonSchema

from simulator import units
from simulator.distributions import Distribution, parse_distribution


class Section(BaseModel):
    """A scenario section: immutable, no unknown fields, attribute docstrings become the schema's text."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        arbitrary_types_allowed=True,
        validate_default=True,  # a default written in units ("exp(2m)") is parsed as a value is
    )


def _quantity(parse, kind: str, example: str):
    """An annotated type: parsed from human units at the boundary, described as such in the schema."""
    return (
        BeforeValidator(lambda v: parse(v) if v is not None else v),
        WithJsonSchema({"type": ["string", "number"], "description": f"{kind}, e.g. {example}"}),
    )


class _Grows:
    """The type of GROWS."""

    def __repr__(self) -> str:
        return "GROWS"


GROWS = _Grows()
"""Marks a field that grows with the promotion (`Annotated[Count, GROWS]`): a scenario grown K times
(`--scale K`) has K times its value. Shares, times and prices do not grow; counts of people, units, money
pools and servers do."""


def sections(model: type[BaseModel]) -> list[type[BaseModel]]:
    """`model` and every model its fields hold, however deep (in lists, dicts, unions), each once."""
    found: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.append(annotation)
                for field in annotation.model_fields.values():
                    visit(field.annotation)
        for arg in typing.get_args(annotation):
            visit(arg)

    visit(model)
    return found


Duration = Annotated[float, *_quantity(units.parse_duration, "duration", "250ms, 2s, 15m, 1h")]
Rate = Annotated[float, *_quantity(units.parse_rate, "rate", "2000/s, 120/min")]
Count = Annotated[int, *_quantity(units.parse_count, "count", "1000, 300k, 2M")]
Money = Annotated[float, *_quantity(units.parse_money, "money", "2999, ¥300")]
Fraction = Annotated[float, *_quantity(units.parse_fraction, "fraction in [0, 1]", "0.3, 30%"), Field(ge=0, le=1)]


def _parse_dist(value: Any, info: ValidationInfo) -> Distribution:
    if isinstance(value, Distribution):
        return value
    base = (info.context or {}).get("base_dir")
    return parse_distribution(value, base)


Dist = Annotated[
    Distribution,
    BeforeValidator(_parse_dist),
    PlainSerializer(str, return_type=str, when_used="json"),  # read back by _parse_dist (a run's scenario.json)
    WithJsonSchema(
        {
            "type": ["string", "number"],
            "description": "distribution: 40ms, exp(50ms), lognormal(40ms, 1.2), gamma(1s, 0.5), "
            "uniform(1s, 3s), empirical(10ms, 20ms, 35ms) or empirical(samples.csv)",
        }
    ),
]


def _parse_instant(value: Any, info: ValidationInfo) -> float:
    start = (info.context or {}).get("clock_start") or units.parse_clock("00:00")
    return units.clock_offset(start, value)


def _offset(seconds: float) -> str:
    """An instant as an offset from the clock start, which _parse_instant reads back ('+1800.0s', '-60.0s')."""
    return f"+{seconds!r}s" if seconds >= 0 else f"-{-seconds!r}s"


Instant = Annotated[
    float,
    BeforeValidator(_parse_instant),
    PlainSerializer(_offset, return_type=str, when_used="json"),
    WithJsonSchema({"type": ["string", "number"], "description": "clock label (20:00, 2026-11-11 00:00) or +30m"}),
]
