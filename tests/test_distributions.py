"""Distributions written as short strings: parsing, canonical text, moments of samples, the sampler."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.distributions import Distribution, parse_distribution, sampler

N = 200_000


def error_of(value, base_dir=None) -> str:
    """The one-line message parse_distribution raises, which must quote the input."""
    with pytest.raises(ValueError) as caught:
        parse_distribution(value, base_dir)
    message = str(caught.value)
    assert "\n" not in message
    assert repr(value if isinstance(value, str) else repr(value)) in message
    return message


def moments(draws: np.ndarray) -> tuple[float, float]:
    mean = float(draws.mean())
    return mean, float(draws.std()) / mean


# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "params"),
    [
        ("40ms", "const", (0.04,)),
        (0.04, "const", (0.04,)),
        (3, "const", (3.0,)),
        ("const(2s)", "const", (2.0,)),
        ("exp(50ms)", "exp", (0.05,)),
        ("exponential(2m)", "exp", (120.0,)),
        ("EXP(50ms)", "exp", (0.05,)),
        ("lognormal(40ms, 0.8)", "lognormal", (0.04, 0.8)),
        ("  LogNormal ( 40ms ,0.8 ) ", "lognormal", (0.04, 0.8)),
        ("gamma(1s, 0.5)", "gamma", (1.0, 0.5)),
        ("uniform(1s, 3s)", "uniform", (1.0, 3.0)),
        ("uniform(0, 1)", "uniform", (0.0, 1.0)),
        ("empirical(10ms, 20ms, 35ms)", "empirical", (0.01, 0.02, 0.035)),
        ("empirical(7)", "empirical", (7.0,)),
        ("exp(10.0)", "exp", (10.0,)),
        ("lognormal(¥300, 0.2)", "lognormal", (300.0, 0.2)),
    ],
)
def test_distribution_text_parses_to_kind_and_params(text, kind, params):
    assert parse_distribution(text) == Distribution(kind, params)


def test_arguments_with_units_equal_plain_seconds():
    assert parse_distribution("lognormal(40ms, 0.8)") == parse_distribution("lognormal(0.04, 0.8)")
    assert parse_distribution("40ms") == parse_distribution(0.04)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("normal(1s, 2)", "const, exp, exponential, lognormal, gamma, uniform, empirical"),
        ("exp(1s, 2s)", "exp takes 1 argument (mean), not 2"),
        ("lognormal(1s)", "lognormal takes 2 arguments (mean, cv), not 1"),
        ("gamma()", "gamma takes 2 arguments"),
        ("exp(0)", "the mean must be greater than 0"),
        ("lognormal(0s, 1)", "the mean must be greater than 0"),
        ("gamma(-1s, 1)", "the mean must be greater than 0"),
        ("lognormal(1s, -0.5)", "the cv must not be negative"),
        ("gamma(1s, -1)", "the cv must not be negative"),
        ("uniform(3s, 1s)", "low must not exceed high"),
        ("uniform(-1s, 1s)", "must not be negative"),
        ("const(-1)", "must not be negative"),
        ("-5ms", "must not be negative"),
        ("empirical(1s, -2s)", "must not be negative"),
        ("empirical()", "at least one value"),
        ("exp(40xs)", "'40xs' is not a quantity"),
        ("uniform(1s, )", "'' is not a quantity"),
        ("soon", "is not a distribution"),
        ("exp(50ms", "is not a distribution"),
    ],
)
def test_invalid_distribution_names_the_problem_and_quotes_the_input(text, fragment):
    message = error_of(text)
    assert fragment in message
    assert "e.g." in message or "use one of" in message


@pytest.mark.parametrize("value", [True, None, math.nan, math.inf, [1, 2]])
def test_non_numbers_and_non_finite_values_are_not_distributions(value):
    error_of(value)


def test_direct_construction_is_validated_and_params_become_floats():
    assert Distribution("const", (1,)).params == (1.0,)
    assert type(Distribution("const", (1,)).params[0]) is float
    with pytest.raises(ValueError, match="mean must be greater than 0"):
        Distribution("exp", (0.0,))
    with pytest.raises(ValueError, match="use one of"):
        Distribution("normal", (1.0, 2.0))


def test_distribution_is_frozen_and_hashable():
    d = parse_distribution("exp(1s)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.kind = "const"  # type: ignore[misc]
    assert len({d, parse_distribution("exp(1000ms)")}) == 1


# -- canonical text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("40ms", "const(0.04)"),
        ("exponential(2m)", "exp(120.0)"),
        ("lognormal(40ms, 0.8)", "lognormal(0.04, 0.8)"),
        ("gamma(1s, 0.5)", "gamma(1.0, 0.5)"),
        ("uniform(1s, 3s)", "uniform(1.0, 3.0)"),
        ("empirical(10ms, 20ms)", "empirical(0.01, 0.02)"),
    ],
)
def test_str_is_canonical_seconds_text_that_parses_back(text, canonical):
    d = parse_distribution(text)
    assert str(d) == canonical
    assert parse_distribution(str(d)) == d


finite = st.floats(min_value=0, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-300, allow_nan=False, allow_infinity=False)
cvs = st.floats(min_value=0, max_value=100, allow_nan=False)
distributions = st.one_of(
    finite.map(lambda x: Distribution("const", (x,))),
    positive.map(lambda m: Distribution("exp", (m,))),
    st.builds(lambda m, c: Distribution("lognormal", (m, c)), positive, cvs),
    st.builds(lambda m, c: Distribution("gamma", (m, c)), positive, cvs),
    st.builds(lambda a, b: Distribution("uniform", (min(a, b), max(a, b))), finite, finite),
    st.lists(finite, min_size=1, max_size=30).map(lambda v: Distribution("empirical", tuple(v))),
)


@given(distributions)
def test_any_distribution_round_trips_through_its_text(d):
    back = parse_distribution(str(d))
    assert back == d
    assert str(back) == str(d)


# -- moments and sampling ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mean", "cv"),
    [
        ("40ms", 0.04, 0.0),
        ("exp(50ms)", 0.05, 1.0),
        ("lognormal(40ms, 0.8)", 0.04, 0.8),
        ("gamma(2s, 0.5)", 2.0, 0.5),
        ("uniform(1s, 3s)", 2.0, (2 / math.sqrt(12)) / 2),
        ("empirical(1, 2, 3)", 2.0, math.sqrt(2 / 3) / 2),
        ("lognormal(1s, 0)", 1.0, 0.0),
        ("uniform(2s, 2s)", 2.0, 0.0),
        ("empirical(5, 5)", 5.0, 0.0),
    ],
)
def test_mean_and_cv_properties(text, mean, cv):
    d = parse_distribution(text)
    assert d.mean == pytest.approx(mean, rel=1e-12)
    assert d.cv == pytest.approx(cv, rel=1e-12)


@pytest.mark.parametrize(
    "text",
    ["exp(50ms)", "lognormal(40ms, 0.8)", "gamma(2s, 0.5)", "uniform(1s, 3s)", "empirical(1, 2, 3, 10)"],
)
def test_sample_mean_and_cv_match_parameters(text):
    d = parse_distribution(text)
    mean, cv = moments(d.sample(np.random.default_rng(20261111), N))
    assert mean == pytest.approx(d.mean, rel=0.01)
    assert cv == pytest.approx(d.cv, rel=0.03)


def test_lognormal_sample_mean_and_cv_match_parameters():
    draws = parse_distribution("lognormal(300ms, 0.6)").sample(np.random.default_rng(7), N)
    mean, cv = moments(draws)
    assert mean == pytest.approx(0.3, rel=0.01)
    assert cv == pytest.approx(0.6, rel=0.03)
    # mean and cv fix the shape: the median of a lognormal is mean / sqrt(1 + cv^2)
    assert float(np.median(draws)) == pytest.approx(0.3 / math.sqrt(1.36), rel=0.01)


def test_gamma_sample_has_gamma_skewness():
    draws = parse_distribution("gamma(1s, 0.5)").sample(np.random.default_rng(11), N)
    skew = float(np.mean((draws - draws.mean()) ** 3)) / float(draws.std()) ** 3
    assert skew == pytest.approx(2 * 0.5, rel=0.1)  # gamma skewness is 2 cv (lognormal's would be 1.625)


def test_sample_returns_float64_vector_of_n():
    draws = parse_distribution("exp(1s)").sample(np.random.default_rng(1), 10)
    assert draws.shape == (10,) and draws.dtype == np.float64
    assert parse_distribution("2s").sample(np.random.default_rng(1), 3).dtype == np.float64


def test_uniform_draws_stay_within_bounds():
    draws = parse_distribution("uniform(1s, 3s)").sample(np.random.default_rng(3), N)
    assert draws.min() >= 1.0 and draws.max() <= 3.0


def test_empirical_resamples_only_its_values_equally_often():
    draws = parse_distribution("empirical(1, 2, 4)").sample(np.random.default_rng(5), N)
    values, counts = np.unique(draws, return_counts=True)
    assert values.tolist() == [1.0, 2.0, 4.0]
    assert counts / N == pytest.approx([1 / 3] * 3, abs=0.01)


@pytest.mark.parametrize("text", ["40ms", "lognormal(1s, 0)", "gamma(1s, 0)", "uniform(2s, 2s)", "empirical(3, 3)"])
def test_constant_distributions_never_touch_the_rng(text):
    rng = np.random.default_rng(9)
    before = rng.bit_generator.state
    d = parse_distribution(text)
    assert d.sample(rng, 5).tolist() == [d.mean] * 5
    assert rng.bit_generator.state == before


def test_same_seed_gives_same_sample():
    d = parse_distribution("lognormal(40ms, 0.8)")
    assert np.array_equal(d.sample(np.random.default_rng(42), 100), d.sample(np.random.default_rng(42), 100))


# -- scaling -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "factor", "scaled"),
    [
        ("40ms", 2, "const(0.08)"),
        ("exp(50ms)", 2, "exp(0.1)"),
        ("lognormal(40ms, 0.8)", 0.5, "lognormal(0.02, 0.8)"),
        ("gamma(1s, 0.5)", 3, "gamma(3.0, 0.5)"),
        ("uniform(1s, 3s)", 2, "uniform(2.0, 6.0)"),
        ("empirical(1, 2)", 1.5, "empirical(1.5, 3.0)"),
        ("lognormal(40ms, 0.8)", 0, "const(0.0)"),
    ],
)
def test_scaled_multiplies_every_value(text, factor, scaled):
    d = parse_distribution(text).scaled(factor)
    assert d == parse_distribution(scaled)
    assert d.mean == pytest.approx(parse_distribution(text).mean * factor)
    if factor:
        assert d.cv == pytest.approx(parse_distribution(text).cv)


@pytest.mark.parametrize("factor", [-1, math.nan, math.inf])
def test_scaled_rejects_negative_or_non_finite_factor(factor):
    with pytest.raises(ValueError, match="scale factor"):
        parse_distribution("exp(1s)").scaled(factor)


# -- empirical from a file ---------------------------------------------------------------------


def test_empirical_csv_reads_first_column_after_optional_header(tmp_path):
    (tmp_path / "samples.csv").write_text("latency,host\n40ms,a\n0.05,b\n\n1s,c\n", encoding="utf-8")
    d = parse_distribution("empirical(samples.csv)", tmp_path)
    assert d == Distribution("empirical", (0.04, 0.05, 1.0))


def test_empirical_csv_without_header_keeps_every_row(tmp_path):
    (tmp_path / "samples.csv").write_text("0.01\n0.02\n", encoding="utf-8")
    assert parse_distribution("EMPIRICAL( samples.csv )", tmp_path).params == (0.01, 0.02)


def test_empirical_csv_path_is_relative_to_base_dir(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pay.csv").write_text("seconds\n1\n2\n", encoding="utf-8")
    assert parse_distribution("empirical(data/pay.csv)", tmp_path).params == (1.0, 2.0)
    absolute = str(tmp_path / "data" / "pay.csv")
    assert parse_distribution(f"empirical({absolute})", tmp_path / "elsewhere").params == (1.0, 2.0)


def test_empirical_csv_bad_value_names_file_and_row(tmp_path):
    (tmp_path / "samples.csv").write_text("latency\n40ms\n0.05\nslow\n", encoding="utf-8")
    message = error_of("empirical(samples.csv)", tmp_path)
    assert "samples.csv row 4" in message and "'slow'" in message


def test_empirical_csv_negative_value_names_file_and_row(tmp_path):
    (tmp_path / "samples.csv").write_text("1\n-2\n", encoding="utf-8")
    message = error_of("empirical(samples.csv)", tmp_path)
    assert "samples.csv row 2" in message and "must not be negative" in message


def test_empirical_csv_missing_file_is_a_clear_error(tmp_path):
    message = error_of("empirical(nowhere.csv)", tmp_path)
    assert "no such file" in message and "nowhere.csv" in message


def test_empirical_csv_with_only_a_header_has_no_values(tmp_path):
    (tmp_path / "samples.csv").write_text("latency\n\n", encoding="utf-8")
    assert "has no values" in error_of("empirical(samples.csv)", tmp_path)


def test_empirical_csv_round_trips_through_inline_text(tmp_path):
    (tmp_path / "samples.csv").write_text("0.1\n0.3\n0.25\n", encoding="utf-8")
    d = parse_distribution("empirical(samples.csv)", tmp_path)
    assert parse_distribution(str(d)) == d


# -- sampler -----------------------------------------------------------------------------------


def test_sampler_returns_python_floats_in_sample_order_across_refills():
    d = parse_distribution("exp(1s)")
    draw = sampler(d, np.random.default_rng(3), batch=4)
    draws = [draw() for _ in range(10)]
    reference = np.random.default_rng(3)
    expected = [x for _ in range(3) for x in d.sample(reference, 4).tolist()][:10]
    assert draws == expected
    assert all(type(x) is float for x in draws)


def test_sampler_is_reproducible_from_the_same_rng_state():
    d = parse_distribution("lognormal(40ms, 0.8)")
    first = sampler(d, np.random.default_rng(123))
    second = sampler(d, np.random.default_rng(123))
    assert [first() for _ in range(3000)] == [second() for _ in range(3000)]
    other = sampler(d, np.random.default_rng(124))
    assert [other() for _ in range(10)] != [sampler(d, np.random.default_rng(123))() for _ in range(10)]


def test_sampler_of_const_returns_it_without_consuming_rng():
    rng = np.random.default_rng(5)
    before = rng.bit_generator.state
    draw = sampler(parse_distribution("250ms"), rng)
    assert [draw() for _ in range(5000)] == [0.25] * 5000
    assert type(draw()) is float
    assert rng.bit_generator.state == before


def test_sampler_draws_have_the_distribution_mean():
    draw = sampler(parse_distribution("gamma(2s, 0.5)"), np.random.default_rng(8))
    assert math.fsum(draw() for _ in range(N)) / N == pytest.approx(2.0, rel=0.01)


def test_sampler_rejects_empty_batches():
    with pytest.raises(ValueError, match="batch"):
        sampler(parse_distribution("exp(1s)"), np.random.default_rng(1), batch=0)


def test_empirical_reads_only_a_csv_file_and_never_shows_another(tmp_path):
    (tmp_path / "secret").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    for name in ("secret", "/etc/passwd"):
        message = error_of(f"empirical({name})", tmp_path)
        assert "not a .csv file" in message and "root:" not in message, message
