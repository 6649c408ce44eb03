"""Named random streams: one seed gives each component and purpose its own reproducible, independent draws."""

from __future__ import annotations

import zlib

import numpy as np

from simulator.engine import streams


def draws(seed: np.random.SeedSequence, name: str, n: int = 1000) -> np.ndarray:
    return streams(seed)(name).random(n)


def test_same_seed_and_name_give_the_same_draws():
    first = draws(np.random.SeedSequence(7), "service:buy")
    again = streams(np.random.SeedSequence(7))
    assert np.array_equal(again("service:buy").random(1000), first)
    assert np.array_equal(again("service:buy").random(1000), first)  # each call starts the stream afresh


def test_stream_is_the_seed_spawned_with_the_crc32_of_its_name():
    # pinned: changing how a name maps to a stream would change every result of every seed
    expected = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(zlib.crc32(b"arrivals"),))).random(5)
    assert np.array_equal(draws(np.random.SeedSequence(7), "arrivals", 5), expected)


def test_different_names_give_uncorrelated_draws():
    seed = np.random.SeedSequence(7)
    n = 20_000
    a, b = draws(seed, "service:buy", n), draws(seed, "service:pay", n)
    assert not np.array_equal(a[:10], b[:10])
    # independent uniforms: the correlation is about N(0, 1 / n); 4 standard errors is 0.028
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(n)


def test_a_stream_is_unchanged_when_another_purpose_is_added():
    seed = np.random.SeedSequence(7)
    alone = draws(seed, "patience:guest")
    stream = streams(seed)
    stream("red_packets:amounts").random(5000)  # a feature added later draws from its own stream first
    stream("think:guest").random(3)
    assert np.array_equal(stream("patience:guest").random(1000), alone)


def test_replications_spawned_from_one_seed_draw_differently_for_the_same_purpose():
    first, second = np.random.SeedSequence(7).spawn(2)
    a, b = draws(first, "arrivals"), draws(second, "arrivals")
    assert not np.array_equal(a, b)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(len(a))
    assert not np.array_equal(
        draws(np.random.SeedSequence(8), "arrivals"), draws(np.random.SeedSequence(7), "arrivals")
    )
