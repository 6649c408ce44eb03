"""Human units of scenario files (250ms, 2000/s, 300k, 30%, ¥2999, 20:00) read at the boundary, so the
model only sees seconds and counts. Errors are one-line ValueErrors shown verbatim after `file:line: field:`:
they start with the quoted input and say what is expected, with an example."""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import SupportsFloat

_NUM = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?"
_GROUPED = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:_\d+)+(?:\.\d+)?"
_SCALED = re.compile(rf"({_GROUPED}|{_NUM})\s*([kKMB]?)")
_SCALES = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "B": 10**9}
_UNITS = {
    unit: Decimal(size)  # type: ignore[arg-type]  # an int or a numeric string
    for unit, size in [
        ("d", 86400),
        ("h", 3600),
        ("min", 60),
        ("m", 60),
        ("s", 1),
        ("ms", "1e-3"),
        ("us", "1e-6"),
        ("µs", "1e-6"),
        ("μs", "1e-6"),
    ]
}
_PART = re.compile(rf"\s*({_NUM})\s*(us|µs|μs|ms|min|s|m|h|d)\s*")
_CURRENCY = re.compile(r"(?:¥|￥|(?:CNY|RMB)(?![A-Za-z]))\s*", re.IGNORECASE)
_CLOCK = re.compile(r"(?:(\d{4})-(\d{2})-(\d{2})(?:\s+|[Tt]))?(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?")
DAY = 86400.0


def _quote(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _parse(
    value: object, what: str, expected: str, read: Callable[[str], Decimal | None], negative: bool = False
) -> float:
    """A YAML number (never a bool) as is, or text read after its sign; finite, negative only if allowed."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise ValueError(f"{_quote(value)} is not {what}: {expected}")
    number: SupportsFloat | str = value
    if isinstance(value, str):
        text = value.strip()
        sign = -1 if text[:1] == "-" else 1
        exact = read(text[1:].strip() if text[:1] in ("-", "+") else text)
        if exact is None:
            raise ValueError(f"{_quote(value)} is not {what}: {expected}")
        number = sign * exact
    number = float(number)
    if not math.isfinite(number):
        raise ValueError(f"{_quote(value)} is not {what}: it must be finite; {expected}")
    if number < 0 and not negative:
        raise ValueError(f"{_quote(value)}: {what} must not be negative; {expected}")
    return number


def _scaled(text: str) -> Decimal | None:
    """'1,000', '1_000', '2.5', '300k', '2M', '1B' as an exact decimal; None if not of that form."""
    match = _SCALED.fullmatch(text.strip())
    return Decimal(match[1].replace(",", "").replace("_", "")) * _SCALES[match[2]] if match else None


def _duration(text: str) -> Decimal | None:
    """Unsigned '1h30m', '250ms', '30' (seconds); units decrease left to right, each at most once."""
    if (plain := re.fullmatch(_NUM, text.strip())) is not None:
        return Decimal(plain[0])
    total, pos, last = Decimal(0), 0, Decimal("Infinity")
    while pos < len(text):
        part = _PART.match(text, pos)
        if part is None or _UNITS[part[2]] >= last:
            return None
        total += Decimal(part[1]) * _UNITS[part[2]]
        pos, last = part.end(), _UNITS[part[2]]
    return total if pos else None


def _rate(text: str) -> Decimal | None:
    count, slash, per = (part.strip() for part in text.partition("/"))
    span = _duration("1" + per if per in _UNITS else per) if slash else Decimal(1)
    amount = _scaled(count)
    return amount / span if amount is not None and span else None


def _fraction(text: str) -> Decimal | None:
    match = re.fullmatch(_NUM, text.removesuffix("%").strip())
    return Decimal(match[0]) / (100 if text.endswith("%") else 1) if match else None


def _money(text: str) -> Decimal | None:
    currency = _CURRENCY.match(text)
    if currency is None:
        return _scaled(text)
    rest = text[currency.end() :].strip()
    amount = _scaled(rest[1:] if rest[:1] in ("+", "-") else rest)
    return -amount if amount is not None and rest.startswith("-") else amount


def _quantity(text: str) -> Decimal | None:
    if _CURRENCY.match(text):
        return _money(text)
    return exact if (exact := _scaled(text)) is not None else _duration(text)


def parse_duration(value: str | int | float) -> float:
    """Seconds from '250ms', '2s', '15m', '1.5h', '1h30m' or a number of seconds."""
    return _parse(value, "a duration", "use a number with a unit, e.g. 250ms, 2s, 15m, 1h", _duration)


def parse_rate(value: str | int | float) -> float:
    """Events per second from '2000/s', '120/min', '300k/h', '1/30s' or a number per second."""
    return _parse(value, "a rate", "use a number per time unit, e.g. 2000/s, 120/min, 300k/h", _rate)


def parse_count(value: str | int | float) -> int:
    """A whole number from '300k', '1.5k', '2M', '1B', '1,000', '1_000', 42 or 3.0."""
    expected = "use a whole number, e.g. 1000, 300k, 2M"
    number = _parse(value, "a count", expected, _scaled)
    if not number.is_integer():
        raise ValueError(f"{_quote(value)} is not a whole number: {expected}")
    return value if isinstance(value, int) else int(number)


def parse_fraction(value: str | int | float) -> float:
    """A fraction from '30%', '5.5%' or 0.3; the range is the schema's to check."""
    expected = "use a number from 0 to 1 or a percentage, e.g. 0.3, 30%"
    return _parse(value, "a fraction", expected, _fraction, negative=True)


def parse_money(value: str | int | float) -> float:
    """An amount from '¥2999', '2,999', '¥1.5k', 'CNY 300' or a number."""
    return _parse(value, "a money amount", "use a number, optionally with ¥ or CNY, e.g. 2999, ¥2,999, ¥1.5k", _money)


def parse_quantity(value: str | int | float) -> float:
    """A signed number from a number ('1.5k' too), a duration (seconds) or a money amount; for arguments."""
    expected = "use a number, a duration or an amount, e.g. 0.5, 1.5k, 40ms, 2s, ¥300"
    return _parse(value, "a quantity", expected, _quantity, negative=True)


@dataclass(frozen=True)
class ClockTime:
    """A wall-clock label: a time of day, on a date or on any day."""

    day: dt.date | None
    second_of_day: float


def parse_clock(value: str) -> ClockTime:
    """A clock label: '20:00', '8:05', '20:00:05', '20:00:00.5', '2026-11-11 00:00', '2026-11-11T00:00:30'."""
    expected = "use HH:MM or HH:MM:SS, optionally after a date, e.g. 20:00, 08:05:30, 2026-11-11 00:00"
    if not isinstance(value, str):
        raise ValueError(f'{_quote(value)} is not a clock time: quote it in the file, e.g. "20:00"')
    match = _CLOCK.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{_quote(value)} is not a clock time: {expected}")
    year, month, mday, hour, minute, second = match.groups()
    if int(hour) > 23 or int(minute) > 59 or float(second or 0) >= 60:
        raise ValueError(
            f"{_quote(value)} is not a clock time: hours go to 23, minutes and seconds to 59, e.g. 23:59:59"
        )
    try:
        day = dt.date(int(year), int(month), int(mday)) if year else None
    except ValueError:
        raise ValueError(f"{_quote(value)} has no such date: use YYYY-MM-DD, e.g. 2026-11-11 00:00") from None
    return ClockTime(day, int(hour) * 3600 + int(minute) * 60 + float(second or 0))


def clock_offset(start: ClockTime, value: str | int | float) -> float:
    """Seconds after the clock start of '20:00' (next such time), '2026-11-11 00:00' (exact), '+30m' or (before
    the start) '-2h'."""
    if isinstance(value, str) and value.strip().startswith("+"):
        return parse_duration(value)
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_duration(value.strip()[1:])
    if not isinstance(value, str) or ":" not in value:
        raise ValueError(
            f"{_quote(value)} is not an instant: use a clock label or an offset after the "
            "start, e.g. 20:00, 2026-11-11 00:00, +30m"
        )
    label = parse_clock(value)
    if label.day is None:
        return (label.second_of_day - start.second_of_day) % DAY
    if start.day is None:
        raise ValueError(
            f"{_quote(value)} has a date but the clock start has none: date the start, "
            "e.g. 2026-11-10 23:30, or drop the date here"
        )
    return (label.day - start.day).days * DAY + label.second_of_day - start.second_of_day


def format_clock(start: ClockTime, seconds: float) -> str:
    """'20:00:05' at simulated time `seconds`; dated ('2026-11-11 00:00:05') on another day than start."""
    total = math.floor(start.second_of_day + seconds + 1e-6)
    days, second = divmod(total, int(DAY))
    label = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
    if start.day is None or days == 0:
        return label
    return f"{start.day + dt.timedelta(days=days)} {label}"


def _trim(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")


def format_duration(seconds: float) -> str:
    """Short text for messages and reports: '250ms', '2.5s', '15m', '1h30m'; parse_duration reads it back."""
    if not math.isfinite(seconds):
        return str(seconds)
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds == 0:
        return "0s"
    for scale, unit in ((1e6, "us"), (1e3, "ms")):
        if round(seconds * scale, 3) < 1000:
            return f"{_trim(seconds * scale)}{unit}"
    millis = round(seconds * 1000)
    days, rest = divmod(millis, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (rest / 1000, "s")]
    return "".join(f"{_trim(n)}{unit}" for n, unit in parts if n)
