"""Random quantities (service, think and pay times, patience, amounts) written as short strings in YAML,
e.g. `lognormal(40ms, 0.8)`, parsed once into a frozen Distribution in seconds; a sampler serves the model.
Parameters are means and coefficients of variation (cv): what teams measure and queueing formulas use."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from simulator.units import parse_quantity

# kind -> (number of arguments or None for any, their names, an example)
_SIGNATURES = {
    "const": (1, "value", "const(40ms)"),
    "exp": (1, "mean", "exp(50ms)"),
    "lognormal": (2, "mean, cv", "lognormal(40ms, 1.2)"),
    "gamma": (2, "mean, cv", "gamma(1s, 0.5)"),
    "uniform": (2, "low, high", "uniform(1s, 3s)"),
    "empirical": (None, "values or a CSV file", "empirical(10ms, 20ms, 35ms) or empirical(samples.csv)"),
}
_ALIASES = {"exponential": "exp"}
KNOWN = "const, exp, exponential, lognormal, gamma, uniform, empirical"
_CALL = re.compile(r"\s*([A-Za-z_]\w*)\s*\((.*)\)\s*", re.DOTALL)


def _problem(kind: str, params: tuple[float, ...]) -> str | None:
    """What is wrong with these parameters (with an example of right ones), or None."""
    arity, names, example = _SIGNATURES[kind]
    if arity is not None and len(params) != arity:
        plural = "s" if arity > 1 else ""
        problem = f"{kind} takes {arity} argument{plural} ({names}), not {len(params)}"
    elif not params:
        problem = "empirical needs at least one value"
    elif not all(math.isfinite(p) for p in params):
        problem = "values must be finite"
    elif kind in ("exp", "lognormal", "gamma") and params[0] <= 0:
        problem = "the mean must be greater than 0"
    elif kind in ("lognormal", "gamma") and params[1] < 0:
        problem = "the cv must not be negative"
    elif kind == "uniform" and params[0] > params[1]:
        problem = "low must not exceed high"
    elif any(p < 0 for p in params):
        problem = "values must not be negative"
    else:
        return None
    return f"{problem}; e.g. {example}"


@dataclass(frozen=True)
class Distribution:
    """A non-negative random quantity in seconds (or plain units): kind and params (empirical: samples)."""

    kind: str
    params: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.kind not in _SIGNATURES:
            raise ValueError(f"{self.kind!r} is not a distribution: use one of {KNOWN}")
        object.__setattr__(self, "params", tuple(float(p) for p in self.params))
        if (problem := _problem(self.kind, self.params)) is not None:
            raise ValueError(f"{str(self)!r}: {problem}")

    def __str__(self) -> str:
        return f"{self.kind}({', '.join(map(repr, self.params))})"

    @cached_property
    def _values(self) -> np.ndarray:
        return np.asarray(self.params, dtype=np.float64)

    @cached_property
    def _constant(self) -> float | None:
        """The only value this distribution takes, if it takes one (a cv of 0 behaves as const)."""
        if self.kind in ("lognormal", "gamma"):
            return float(self.params[0]) if self.params[1] == 0 else None
        if self.kind == "exp" or min(self.params) != max(self.params):
            return None
        return float(self.params[0])

    @property
    def mean(self) -> float:
        p = self.params
        if self.kind == "uniform":
            return (p[0] + p[1]) / 2
        return math.fsum(p) / len(p) if self.kind == "empirical" else p[0]

    @property
    def cv(self) -> float:
        """Coefficient of variation, standard deviation / mean (0 for a constant)."""
        if self._constant is not None:
            return 0.0
        if self.kind == "exp":
            return 1.0
        if self.kind in ("lognormal", "gamma"):
            return self.params[1]
        p = self.params
        sd = (p[1] - p[0]) / math.sqrt(12) if self.kind == "uniform" else float(np.std(self._values))
        return sd / self.mean  # > 0: not constant, values >= 0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n independent draws as float64; a constant never touches rng."""
        if self._constant is not None:
            return np.full(n, self._constant, dtype=np.float64)
        kind, p = self.kind, self.params
        if kind == "exp":
            return rng.exponential(p[0], n)
        if kind == "lognormal":
            sigma2 = math.log1p(p[1] ** 2)
            return rng.lognormal(math.log(p[0]) - sigma2 / 2, math.sqrt(sigma2), n)
        if kind == "gamma":
            return rng.gamma(1 / p[1] ** 2, p[0] * p[1] ** 2, n)
        if kind == "uniform":
            return rng.uniform(p[0], p[1], n)
        return self._values[rng.integers(0, len(p), n)]

    def scaled(self, factor: float) -> Distribution:
        """Every value multiplied by factor: the same request made cheaper (< 1) or slower (> 1)."""
        if isinstance(factor, bool) or not math.isfinite(factor) or factor < 0:
            raise ValueError(f"{str(factor)!r} is not a scale factor: use a number >= 0, e.g. 0.5, 2")
        if factor == 0:
            return Distribution("const", (0.0,))
        if self.kind in ("lognormal", "gamma"):
            return Distribution(self.kind, (self.params[0] * factor, self.params[1]))
        return Distribution(self.kind, tuple(p * factor for p in self.params))


def _quote(value: object) -> str:
    return repr(value if isinstance(value, str) else repr(value))


def _read_samples(where: str, name: str, base_dir: Path | None) -> tuple[float, ...]:
    """The first column of a CSV file, one value per row, an optional header row first."""
    path = Path(base_dir or ".") / name  # an absolute name stays as it is
    if path.suffix.lower() != ".csv":
        raise ValueError(
            f"{where}: {name!r} is not a .csv file; give a CSV file of values, e.g. empirical(samples.csv)"
        )
    if not path.is_file():
        raise ValueError(
            f"{where}: no such file {str(path)!r}; give a CSV file relative to the scenario, "
            "e.g. empirical(samples.csv)"
        )
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{where}: cannot read {str(path)!r} ({exc}); use a CSV file of values") from None
    values: list[float] = []
    first = True
    for number, row in enumerate(rows, start=1):
        cell = row[0].strip() if row else ""
        if not cell or cell.startswith("#"):
            continue
        try:
            value = parse_quantity(cell)
        except ValueError as exc:
            if first:  # a header row
                first = False
                continue
            raise ValueError(f"{where}: {name} row {number}: {exc}") from None
        first = False
        if value < 0:
            raise ValueError(f"{where}: {name} row {number}: {cell!r} must not be negative; e.g. 40ms")
        values.append(value)
    if not values:
        raise ValueError(f"{where}: {name} has no values; write one per row, e.g. 0.04 or 40ms")
    return tuple(values)


def parse_distribution(value: str | int | float, base_dir: Path | None = None) -> Distribution:
    """A Distribution from '40ms', 0.04, 'exp(50ms)', 'lognormal(40ms, 0.8)', 'empirical(samples.csv)'...

    Every argument is a quantity (40ms and 0.04 are equal); a CSV path is relative to base_dir."""
    where = _quote(value)
    call = _CALL.fullmatch(value) if isinstance(value, str) else None
    params: tuple[float, ...]
    if call is None:
        try:
            kind, params = "const", (parse_quantity(value),)
        except ValueError:
            raise ValueError(
                f"{where} is not a distribution: use a quantity or name(arguments), "
                "e.g. 40ms, exp(50ms), lognormal(40ms, 1.2)"
            ) from None
    else:
        kind = _ALIASES.get(call[1].lower(), call[1].lower())
        if kind not in _SIGNATURES:
            raise ValueError(f"{where}: unknown distribution {call[1]!r}; use one of {KNOWN}")
        args = [arg.strip() for arg in call[2].split(",")] if call[2].strip() else []
        try:
            params = tuple(parse_quantity(arg) for arg in args)
        except ValueError as exc:
            if kind == "empirical" and len(args) == 1 and args[0]:  # not a value: a file of them
                params = _read_samples(where, args[0].strip("'\""), base_dir)
            else:
                raise ValueError(f"{where}: {exc}") from None
    if (problem := _problem(kind, params)) is not None:
        raise ValueError(f"{where}: {problem}")
    return Distribution(kind, params)


Draw = Callable[[], float]
"""A function that returns the next draw of a distribution."""


def sampler(dist: Distribution, rng: np.random.Generator, batch: int = 1024) -> Draw:
    """Draws of one distribution, one Python float per call, refilled in batches from its own rng.

    Hot path: one call per simulated request, think or wait. A closure, not a callable object: Python
    calls a function for a fraction of what it costs to call an instance."""
    if batch < 1:
        raise ValueError(f"'{batch}' is not a batch size: use a whole number >= 1, e.g. 1024")
    constant = dist._constant
    if constant is not None:
        return lambda: constant
    buffer: list[float] = []

    def draw() -> float:
        if not buffer:
            buffer.extend(reversed(dist.sample(rng, batch).tolist()))  # pop() in draw order
        return buffer.pop()

    return draw
