"""Human units at the scenario boundary: durations, rates, counts, fractions, money, clock labels."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.units import (
    ClockTime,
    clock_offset,
    format_clock,
    format_duration,
    parse_clock,
    parse_count,
    parse_duration,
    parse_fraction,
    parse_money,
    parse_quantity,
    parse_rate,
)


def error_of(parse, value, *args) -> str:
    """The message of the ValueError parse raises; it must be one line and quote the input."""
    with pytest.raises(ValueError) as caught:
        parse(*args, value)
    message = str(caught.value)
    assert "\n" not in message
    assert repr(value if isinstance(value, str) else repr(value)) in message
    return message


# -- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("2s", 2.0),
        ("15m", 900.0),
        ("2min", 120.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("500us", 0.0005),
        ("500µs", 0.0005),
        ("1.5h", 5400.0),
        (".5s", 0.5),
        ("30", 30.0),
        ("0", 0.0),
        (" 2 s ", 2.0),
        ("40ms", 0.04),
    ],
)
def test_duration_units_convert_to_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("value", "seconds"), [(45, 45.0), (0.5, 0.5), (0, 0.0)])
def test_duration_numbers_are_seconds(value, seconds):
    result = parse_duration(value)
    assert result == seconds and type(result) is float


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h30m", 5400.0), ("2m30s", 150.0), ("1h 30m 15s", 5415.0), ("1d2h", 93600.0), ("1s500ms", 1.5)],
)
def test_compound_duration_adds_parts(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30m1h", "1m1min", "2s2s", "1h30", "h", "15x", "", "1.2.3s", "2 hours"])
def test_malformed_duration_is_rejected_with_example(text):
    assert "e.g. 250ms, 2s, 15m, 1h" in error_of(parse_duration, text)


def test_duration_error_message_quotes_input_and_shows_examples():
    with pytest.raises(ValueError) as caught:
        parse_duration("15x")
    assert str(caught.value) == "'15x' is not a duration: use a number with a unit, e.g. 250ms, 2s, 15m, 1h"


@pytest.mark.parametrize("value", ["-5s", "-1h30m", -1, -0.5])
def test_negative_duration_is_rejected(value):
    assert "must not be negative" in error_of(parse_duration, value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "nan", "inf", "1e999s"])
def test_non_finite_duration_is_rejected(value):
    error_of(parse_duration, value)


@pytest.mark.parametrize(
    "parse", [parse_duration, parse_rate, parse_count, parse_fraction, parse_money, parse_quantity]
)
@pytest.mark.parametrize("value", [True, False, None, [1]])
def test_booleans_and_non_scalars_are_not_numbers(parse, value):
    error_of(parse, value)


@given(st.integers(0, 99), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_compound_duration_of_any_parts_is_their_sum(d, h, m, s):
    assert parse_duration(f"{d}d{h}h{m}m{s}s") == d * 86400 + h * 3600 + m * 60 + s


@given(st.floats(min_value=0, max_value=1e8, allow_nan=False))
def test_formatted_duration_parses_back_to_within_its_precision(seconds):
    back = parse_duration(format_duration(seconds))
    assert abs(back - seconds) <= (5e-4 if seconds >= 1 else 5e-7) + 1e-12 * seconds


@given(st.integers(0, 10**8))
def test_formatted_whole_seconds_parse_back_exactly(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.25, "250ms"),
        (2.5, "2.5s"),
        (900, "15m"),
        (5400, "1h30m"),
        (150, "2m30s"),
        (0, "0s"),
        (0.0125, "12.5ms"),
        (5e-7, "0.5us"),
        (90.5, "1m30.5s"),
        (172805, "2d5s"),
        (3600, "1h"),
        (59.9996, "1m"),
        (0.9999996, "1s"),
        (-900, "-15m"),
    ],
)
def test_format_duration_gives_short_human_text(seconds, text):
    assert format_duration(seconds) == text


# -- rates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "per_second"),
    [
        ("2000/s", 2000.0),
        ("120/min", 2.0),
        ("120/m", 2.0),
        ("5/h", 5 / 3600),
        ("300k/h", 300_000 / 3600),
        ("1.5k/s", 1500.0),
        ("1/30s", 1 / 30),
        ("100 / 5m", 100 / 300),
        ("50", 50.0),
        (50, 50.0),
        (0.5, 0.5),
    ],
)
def test_rate_is_per_second(value, per_second):
    assert parse_rate(value) == pytest.approx(per_second, rel=1e-15)


@pytest.mark.parametrize("value", ["2000/x", "/s", "fast", "5/0s", "5/", "2000/s/s"])
def test_malformed_rate_is_rejected_with_example(value):
    assert "e.g. 2000/s" in error_of(parse_rate, value)


@pytest.mark.parametrize("value", ["-5/s", -5])
def test_negative_rate_is_rejected(value):
    assert "must not be negative" in error_of(parse_rate, value)


# -- counts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "count"),
    [
        ("300k", 300_000),
        ("1.5k", 1500),
        ("2M", 2_000_000),
        ("1B", 10**9),
        ("1,000", 1000),
        ("1_000", 1000),
        ("12,345,678", 12_345_678),
        (42, 42),
        (3.0, 3),
        ("72k", 72_000),
        ("0", 0),
        (10**20, 10**20),
    ],
)
def test_count_forms_give_ints(value, count):
    result = parse_count(value)
    assert result == count and type(result) is int


@pytest.mark.parametrize("value", ["1.5", "1.2345k", 1.5, "0.5"])
def test_fractional_count_is_not_a_whole_number(value):
    assert "not a whole number" in error_of(parse_count, value)


@pytest.mark.parametrize("value", ["-3", -3, "-1k"])
def test_negative_count_is_rejected(value):
    assert "must not be negative" in error_of(parse_count, value)


@pytest.mark.parametrize("value", ["abc", "1,00", "2m", "1,000,00", "k", "3 people"])
def test_malformed_count_is_rejected_with_example(value):
    assert "e.g. 1000, 300k, 2M" in error_of(parse_count, value)


# -- fractions and money -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fraction"),
    [("30%", 0.3), ("5.5%", 0.055), ("100%", 1.0), (0.3, 0.3), ("0.3", 0.3), (1, 1.0), ("150%", 1.5)],
)
def test_fraction_forms(value, fraction):
    assert parse_fraction(value) == fraction


@pytest.mark.parametrize("value", ["abc", "30 percent", "%", "3/4"])
def test_malformed_fraction_is_rejected_with_example(value):
    assert "e.g. 0.3, 30%" in error_of(parse_fraction, value)


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        ("¥2999", 2999.0),
        ("2,999", 2999.0),
        ("¥1.5k", 1500.0),
        ("CNY 300", 300.0),
        (2999, 2999.0),
        ("300", 300.0),
        ("￥300", 300.0),
        ("rmb 5", 5.0),
        ("¥ 2,999.50", 2999.5),
    ],
)
def test_money_forms(value, amount):
    assert parse_money(value) == amount


@pytest.mark.parametrize("value", ["-300", "¥-300", "-¥300", -1])
def test_negative_money_is_rejected(value):
    assert "must not be negative" in error_of(parse_money, value)


@pytest.mark.parametrize("value", ["$5", "¥", "CNYX 5", "300 yuan"])
def test_malformed_money_is_rejected_with_example(value):
    assert "e.g. 2999" in error_of(parse_money, value)


# -- quantities --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("40ms", 0.04),
        (0.04, 0.04),
        ("0.04", 0.04),
        ("1.5k", 1500.0),
        ("2M", 2e6),
        ("2m", 120.0),
        ("¥300", 300.0),
        ("1h30m", 5400.0),
        ("-2", -2.0),
        ("1e-05", 1e-05),
        ("1.5e+16", 1.5e16),
        (7, 7.0),
    ],
)
def test_quantity_is_a_number_duration_or_amount(value, number):
    assert parse_quantity(value) == number


@pytest.mark.parametrize("value", ["40 parsecs", "", "nan", "1e999"])
def test_malformed_quantity_is_rejected_with_example(value):
    assert "e.g." in error_of(parse_quantity, value)


# -- clock -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day", "second"),
    [
        ("20:00", None, 72000.0),
        ("20:00:05", None, 72005.0),
        ("8:05", None, 29100.0),
        ("20:00:00.5", None, 72000.5),
        ("00:00", None, 0.0),
        (" 23:59:59 ", None, 86399.0),
        ("2026-11-11 00:00", dt.date(2026, 11, 11), 0.0),
        ("2026-11-11T00:00:30", dt.date(2026, 11, 11), 30.0),
    ],
)
def test_clock_labels_parse_to_day_and_second(text, day, second):
    assert parse_clock(text) == ClockTime(day, second)


@pytest.mark.parametrize("text", ["24:00", "12:60", "12:00:60", "25:30"])
def test_clock_out_of_range_is_rejected(text):
    assert "23" in error_of(parse_clock, text)


@pytest.mark.parametrize("text", ["2026-02-30 00:00", "2026-13-01 00:00"])
def test_clock_with_impossible_date_is_rejected(text):
    assert "no such date" in error_of(parse_clock, text)


@pytest.mark.parametrize("value", ["noon", "20:0", "20h", "2026-11-11", "", 1200, 20.5])
def test_malformed_clock_is_rejected_with_example(value):
    assert "20:00" in error_of(parse_clock, value)


@pytest.mark.parametrize(
    ("start", "label", "offset"),
    [
        ("20:00", "20:30", 1800.0),
        ("20:00", "20:00", 0.0),
        ("19:45", "20:00", 900.0),
        ("20:00", "19:00", 82800.0),
        ("23:30", "00:10", 2400.0),
        ("23:30:30", "23:30", 86370.0),
    ],
)
def test_time_label_is_its_first_occurrence_at_or_after_start(start, label, offset):
    assert clock_offset(parse_clock(start), label) == offset


@pytest.mark.parametrize(("label", "offset"), [("+30m", 1800.0), ("+1h30m", 5400.0), ("+0s", 0.0), ("+90", 90.0)])
def test_relative_offset_is_a_duration_after_start(label, offset):
    assert clock_offset(parse_clock("20:00"), label) == offset


@pytest.mark.parametrize(
    ("label", "offset"),
    [
        ("2026-11-11 00:00", 1800.0),
        ("2026-11-12 00:00", 88200.0),
        ("2026-11-10 23:00", -1800.0),
        ("2026-11-10T23:30:00", 0.0),
        ("00:10", 2400.0),
    ],
)
def test_dated_label_is_the_exact_difference_from_a_dated_start(label, offset):
    assert clock_offset(parse_clock("2026-11-10 23:30"), label) == offset


def test_dated_label_needs_a_dated_start():
    assert "date" in error_of(clock_offset, "2026-11-11 00:00", parse_clock("23:30"))


@pytest.mark.parametrize("value", ["30m", 1200, 0, "+-5m", "+soon"])
def test_instant_that_is_neither_label_nor_offset_is_rejected(value):
    error_of(clock_offset, value, parse_clock("20:00"))


@pytest.mark.parametrize(
    ("start", "seconds", "label"),
    [
        ("19:45", 900, "20:00:00"),
        ("19:45", 905.7, "20:00:05"),
        ("23:30", 1805, "00:00:05"),
        ("00:00", 0, "00:00:00"),
        ("2026-11-10 23:30", 5, "23:30:05"),
        ("2026-11-10 23:30", 1805, "2026-11-11 00:00:05"),
        ("2026-11-10 23:30", -1800, "23:00:00"),
        ("2026-11-10 00:30", -3600, "2026-11-09 23:30:00"),
    ],
)
def test_format_clock_labels_simulated_time(start, seconds, label):
    assert format_clock(parse_clock(start), seconds) == label


@given(st.integers(0, 86399), st.integers(0, 3 * 86400))
def test_format_clock_reads_back_as_the_same_offset(start_second, seconds):
    start = ClockTime(None, float(start_second))
    assert clock_offset(start, format_clock(start, seconds)) == seconds % 86400
