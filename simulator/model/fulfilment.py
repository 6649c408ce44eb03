"""The warehouse after the sale: paid orders picked, packed and shipped first come, first served.

Each second the staff on duty add staff x picks_per_hour / 3600 orders of work; whole orders ship as the
work reaches them, and capacity nobody had an order for is lost (idle staff). Orders paid in a second join
the queue at its start. Followed to `until`, so the promise (ship within `ship_within` of payment) is
judged for every order: the breach rate, how long orders took, and the backlog hour by hour. Restock
reservations join the queue when the backup suppliers' units arrive.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.scenario import Fulfilment, Scenario, shifts_on

HOUR = 3600


def run(scenario: Scenario, result: dict) -> dict:
    """The warehouse for one replication, from the orders it paid (summed over SKUs, per second)."""
    f: Fulfilment = scenario.fulfilment  # type: ignore[assignment]  # wired only for a scenario with one
    lead = f.restock_lead
    until = math.ceil(f.until if f.until is not None else scenario.clock.horizon + (lead or 0.0) + f.ship_within)
    paid = np.zeros(until, dtype=np.int64)
    for stock in result["stock"].values():
        series = np.asarray(stock["series"]["paid"], dtype=np.int64)[:until]
        paid[: len(series)] += series
    restocked = 0
    if lead is not None:  # the backup suppliers' units arrive `lead` after each reservation
        arrive = np.floor(np.concatenate([[], *(s["restock_times"] for s in result["stock"].values())]) + lead)
        arrive = arrive[arrive < until].astype(np.int64)
        np.add.at(paid, arrive, 1)
        restocked = len(arrive)
    staff = staff_per_second(f, scenario.clock.start_time.second_of_day, until)
    return ship(paid, staff * f.picks_per_hour / HOUR, f.ship_within) | {
        "restock_orders": restocked,
        "staff_hours": float(staff.sum() / HOUR),
    }


def staff_per_second(f: Fulfilment, first: float, seconds: int) -> np.ndarray:
    """Staff on duty in each second (shift times fall on whole minutes)."""
    minutes = math.ceil(seconds / 60)
    on = shifts_on(f.roster, first, minutes).astype(np.int64)
    per_minute = np.array([shift.staff for shift in f.roster], dtype=np.int64) @ on
    return np.repeat(per_minute, 60)[:seconds]


def ship(paid: np.ndarray, rate: np.ndarray, within: float) -> dict:
    """Orders arriving paid[s] at second s, served FIFO at rate[s] orders a second: what shipped when, and
    the promise kept or broken per order (one not shipped by the end, and due by then, broke it)."""
    seconds = len(paid)
    shipped = shipped_per_second(paid, rate)
    arrived, left = np.cumsum(paid), np.cumsum(shipped)
    n = int(arrived[-1]) if seconds else 0
    order = np.arange(n)
    paid_at = np.searchsorted(arrived, order, side="right")
    shipped_at = np.searchsorted(left, order, side="right")  # = seconds for an order never shipped
    took = (shipped_at - paid_at).astype(float)
    gone = shipped_at < seconds
    judged = gone | (seconds - paid_at > within)  # shipped, or due by the end
    breached = judged & (took > within)
    hours = math.ceil(seconds / HOUR)
    ends = np.minimum(np.arange(1, hours + 1) * HOUR, seconds) - 1  # each hour's last second
    return {
        "orders": n,
        "shipped": int(left[-1]) if seconds else 0,
        "backlog_at_end": int(arrived[-1] - left[-1]) if seconds else 0,
        "peak_backlog": int((arrived - left).max()) if seconds else 0,
        "breach_rate": float(breached.sum() / judged.sum()) if judged.any() else None,
        "ship_mean_s": float(took[gone].mean()) if gone.any() else None,
        "ship_p95_s": float(np.percentile(took[gone], 95)) if gone.any() else None,
        "series": {  # hour by hour: orders in, shipped, and the backlog at each hour's end
            "paid": _per_hour(paid, hours).tolist(),
            "shipped": _per_hour(shipped, hours).tolist(),
            "backlog": (arrived - left)[ends].tolist(),
        },
    }


def shipped_per_second(paid: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Orders shipped each second: the work of rate[s] orders a second on a FIFO queue fed paid[s] a second."""
    shipped = np.zeros(len(paid), dtype=np.int64)
    backlog, credit = 0, 0.0
    for s in range(len(paid)):  # a plain loop: the carry of part-done work is sequential
        backlog += int(paid[s])
        credit += float(rate[s])
        done = min(backlog, int(credit))
        shipped[s] = done
        backlog -= done
        credit = credit - done if backlog else 0.0  # capacity with no order waiting is lost
    return shipped


def _per_hour(values: np.ndarray, hours: int) -> np.ndarray:
    padded = np.zeros(hours * HOUR, dtype=np.int64)
    padded[: len(values)] = values
    return padded.reshape(hours, HOUR).sum(axis=1)
