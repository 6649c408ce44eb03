"""Random streams: one numpy Generator per component and purpose, all from one SeedSequence."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np


def streams(seed: np.random.SeedSequence) -> Callable[[str], np.random.Generator]:
    """Named random streams: one per component and purpose, stable when other purposes are added."""

    def stream(name: str) -> np.random.Generator:
        child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, zlib.crc32(name.encode())))
        return np.random.default_rng(child)

    return stream
