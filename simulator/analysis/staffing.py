"""Staffing the contact centre: agents per interval against the service-level targets, then per shift.

Erlang C (Erlang A when customers hang up) per interval gives the start; the search then corrects it on
the same contacts, team by team (chat and phone, then the experts, who take what they pass on).
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from simulator.analysis import theory
from simulator.analysis.replications import RunResult, seeds
from simulator.analysis.search import Evaluation, Sizing, enough, search
from simulator.engine import streams
from simulator.model import contact_centre as support
from simulator.scenario import TEAMS, Scenario, Support
from simulator.units import format_clock

NOTHING_TO_STAFF = "support: the scenario has no support section to staff"


def _minutes(per_interval: np.ndarray, interval: float, minutes: int) -> np.ndarray:
    return np.repeat(per_interval, int(interval // 60))[:minutes]


def agent_warm_start(scenario: Scenario, logs: list[support.ContactLog], team: str, n: int) -> np.ndarray:
    """Agents per interval by Erlang C (Erlang A when customers hang up), from the contacts offered
    (escalations counted at their first contact's time: a start, which the search corrects)."""
    cfg = cast(Support, scenario.support)  # agents are sized only for a scenario with support
    target = scenario.targets.support
    channel = cfg.channels.get(team)  # type: ignore[call-overload]  # None for experts, who have no channel
    concurrency = channel.concurrency if channel else 1
    patience = channel.patience if channel else cfg.experts.patience
    theta = 1 / patience.mean if patience is not None and patience.mean > 0 else None
    count, work = np.zeros(n), np.zeros(n)
    for log in logs:
        if channel is None:
            mask, handle = log.escalate & ~log.bot, log.expert_handle
        else:
            mask, handle = (log.team == TEAMS.index(team)) & ~log.bot, log.handle
        k = np.minimum((log.time[mask] // cfg.interval).astype(int), n - 1)
        count += np.bincount(k, minlength=n)[:n]
        work += np.bincount(k, weights=handle[mask], minlength=n)[:n]
    need = np.zeros(n, dtype=int)
    for i in np.flatnonzero(count):
        slots = theory.agents_for_service_level(
            count[i] / len(logs) / cfg.interval,
            count[i] / work[i],
            target.answer_within,
            target.service_level,
            theta,
            target.abandonment,
        )
        if channel is not None and channel.max_sessions is not None:
            slots = min(slots, channel.max_sessions)
        need[i] = math.ceil(slots / concurrency)
    return need


def size_agents(scenario: Scenario, shop: RunResult, seed: int, sizing: Sizing, max_agents: int) -> Scenario:
    """Agents per interval meeting targets.support (chat and phone, then the expert tier, which takes what
    they pass on), turned into agents per shift of the scenario's roster, and the roster checked on the
    same contacts: an interval the roster leaves short gets one more agent and the roster is redone.
    Returns the scenario with that roster."""
    cfg = scenario.support
    if cfg is None:
        raise ValueError(NOTHING_TO_STAFF)
    children = seeds(seed, len(shop.replications))
    logs = [support.contacts(scenario, rep, streams(child)) for rep, child in zip(shop.replications, children)]
    horizon = support.until(scenario)
    minutes = int(math.ceil(horizon / 60))
    n = int(math.ceil(horizon / cfg.interval))
    confidence = scenario.targets.confidence
    on = support.on_duty(scenario)
    staffed = {name: np.zeros(n, dtype=int) for name in TEAMS}
    counts = {name: np.zeros(len(cfg.roster), dtype=int) for name in TEAMS}
    uncovered: set[tuple[str, int]] = set()

    def serve_all(agents: dict[str, np.ndarray]) -> list[dict]:
        return [support.serve(scenario, log, agents) for log in logs]

    def met(served: list[dict], team: str) -> list[bool]:
        ok = np.array([support.team_met(scenario, s["teams"][team]["intervals"]) for s in served])
        return [enough(ok[:, i].tolist(), confidence) for i in range(n)]

    def deployed() -> dict[str, np.ndarray]:
        return {t: counts[t] @ on for t in TEAMS}

    for group in (("chat", "phone"), ("experts",)):
        teams: list[str] = [t for t in group if t in support.teams(scenario)]
        start = {(t, i): int(v) for t in teams for i, v in enumerate(agent_warm_start(scenario, logs, t, n))}

        def evaluate(config: dict[tuple[str, int], int], teams=teams) -> dict[tuple[str, int], bool | None]:
            for (t, i), v in config.items():
                staffed[t][i] = v
            agents = {**deployed(), **{t: _minutes(staffed[t], cfg.interval, minutes) for t in teams}}
            served = serve_all(agents)
            passed: dict[tuple[str, int], bool | None] = {}
            for t in teams:
                share = met(served, t)
                for i in range(n):  # a backlog from an earlier failing interval makes a later failure no verdict
                    passed[(t, i)] = share[i] if share[i] or all(share[:i]) else None
            sizing.log(
                Evaluation(
                    f"agents: {'+'.join(teams)} per interval",
                    {f"{t}@{i}": v for (t, i), v in config.items()},
                    {f"{t}@{i}": v for (t, i), v in passed.items()},
                )
            )
            return passed

        answer = search(
            start,
            evaluate,
            0,
            dict.fromkeys(start, max_agents),
            max_runs=60 + 3 * n,
            describe=lambda k: f"{k[0]} at {format_clock(scenario.clock.start_time, k[1] * cfg.interval)}",
        )
        for (t, i), v in answer.items():
            staffed[t][i] = v
        for _ in range(10):  # the roster gives some intervals more than they asked for: check it as deployed
            for t in teams:
                counts[t], gaps = cover(cfg.interval, on, staffed[t])
                uncovered |= {(t, i) for i in gaps}
            served = serve_all(deployed())
            short = [(t, i) for t in teams for i, ok in enumerate(met(served, t)) if not ok and (t, i) not in uncovered]
            sizing.log(
                Evaluation(
                    f"agents: {'+'.join(teams)} roster",
                    {f"{t} {shift.name}": int(counts[t][k]) for t in teams for k, shift in enumerate(cfg.roster)},
                    {f"{t}@{i}": False for t, i in short},
                )
            )
            if not short:
                break
            for t, i in short:
                staffed[t][i] += 1
    roster = [shift.model_copy(update={t: int(counts[t][k]) for t in TEAMS}) for k, shift in enumerate(cfg.roster)]
    sized = scenario.model_copy(update={"support": cfg.model_copy(update={"roster": roster})})
    final = serve_all(support.roster_agents(sized))
    _report_agents(scenario, roster, staffed, final, on, sizing)
    if uncovered:
        when = sorted({format_clock(scenario.clock.start_time, i * cfg.interval) for _, i in uncovered})
        sizing.unmet.append(
            f"agents: no shift of the roster is on at {', '.join(when[:6])}"
            f"{' ...' if len(when) > 6 else ''}, where contacts need agents"
        )
    return sized


def cover(interval: float, on: np.ndarray, need: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Agents per shift so that every minute has the agents its interval needs; also the intervals no
    shift is on for. Minutes in time order: a shortfall goes to the shift that is on then whose time ahead
    is most needed (a 4-hour peak shift before an all-day one for a 4-hour peak), ties to the one on longest."""
    per = int(interval // 60)
    minutes = on.shape[1]
    want = _minutes(need, interval, minutes)
    have = np.zeros(minutes, dtype=int)
    counts = np.zeros(on.shape[0], dtype=int)
    gaps = []
    for m in range(minutes):
        short = want[m] - have[m]
        if short <= 0:
            continue
        choices = np.flatnonzero(on[:, m])
        if not len(choices):
            gaps.append(m // per)
            continue
        k = max(choices, key=lambda k: _merit(on[k], want - have, m))
        counts[k] += short
        have += short * on[k]
    return counts, sorted(set(gaps))


def _merit(on: np.ndarray, short: np.ndarray, m: int) -> tuple[float, int]:
    """How much of a shift's spell from minute m is still short of agents, and how long the spell runs."""
    stop = m + int(np.argmin(np.append(on[m:], False)))
    return float(np.mean(short[m:stop] > 0)), stop


def paid_hours(on: np.ndarray, counts: np.ndarray, roster: list) -> float:
    """Agent-hours paid: each spell of a shift that overlaps the run, for its whole length."""
    spells = [int(np.sum(np.diff(np.concatenate(([0], row.astype(int)))) == 1)) for row in on]
    return float(sum(c * n * (shift.hours[1] - shift.hours[0]) / 3600 for c, n, shift in zip(counts, spells, roster)))


def _report_agents(
    scenario: Scenario, roster: list, staffed: dict[str, np.ndarray], served: list[dict], on: np.ndarray, sizing: Sizing
) -> None:
    """The staffing table (per interval: contacts, agents asked for and deployed, service level with the
    roster), the roster beside the scenario's, and a row per team with its paid agent-hours."""
    cfg = cast(Support, scenario.support)  # sized only for a scenario with it
    teams = support.teams(scenario)
    counts = {t: np.array([getattr(s, t) for s in roster]) for t in TEAMS}
    per = int(cfg.interval // 60)
    for i in range(len(staffed["experts"])):
        row: dict[str, Any] = {"interval": i, "start": i * cfg.interval}
        for t in teams:
            intervals = [s["teams"][t]["intervals"] for s in served]
            offered = sum(x["offered"][i] for x in intervals)
            row[f"{t}_offered"] = offered / len(served)
            row[f"{t}_agents"] = int(staffed[t][i])
            row[f"{t}_deployed"] = int((counts[t] @ on)[i * per : (i + 1) * per].min())
            row[f"{t}_service_level"] = sum(x["answered_within"][i] for x in intervals) / offered if offered else None
        sizing.staffing.append(row)
    for shift, new in zip(cfg.roster, roster):
        for t in teams:
            sizing.roster.append(
                {
                    "shift": shift.name,
                    "team": t,
                    "start": shift.start,
                    "end": shift.end,
                    "current": getattr(shift, t),
                    "sized": getattr(new, t),
                    "temporary": shift.temporary,
                }
            )
    for t in teams:
        current = np.array([getattr(s, t) for s in cfg.roster])
        sizing.rows.append(
            {
                "what": "agents",
                "variant": "",
                "item": t,
                "current": int(current.sum()),
                "sized": int(counts[t].sum()),
                "warm_start": None,
                "cost": paid_hours(on, counts[t], roster),
                "cost_unit": "agent-hours (paid)",
                "current_cost": paid_hours(on, current, cfg.roster),
                "peak_per_interval": int(staffed[t].max()),
            }
        )
