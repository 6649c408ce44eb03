"""Support: the contacts a sale brings and the contact centre that answers them.

Contacts come from what happens in the sale (a share of each kind of event, after a delay) and from a
steady rate. Chat and phone agents answer them from one FIFO queue per team; a customer still waiting
when their patience runs out hangs up; an answered contact may be passed on to the expert tier. The
contacts of a replication are drawn once (`contacts`) and can be served by any roster (`serve`), so
sizing compares staffings on the same customers (common random numbers).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import cast

import numpy as np

from simulator.scenario import SOURCES, TEAMS, Scenario, Support, shifts_on

CHAT, PHONE, EXPERTS = range(3)
"""Indices into helpdesk.TEAMS."""


@dataclass(frozen=True, eq=False)
class ContactLog:
    """The contacts of one replication, drawn once: a different staffing never changes them (common random numbers)."""

    time: np.ndarray
    """Arrival time at support, seconds from clock start, sorted ascending."""
    source: np.ndarray
    """Index into helpdesk.SOURCES."""
    team: np.ndarray
    """0 chat, 1 phone (index into helpdesk.TEAMS)."""
    bot: np.ndarray
    """Resolved by the chatbot: never reaches an agent."""
    handle: np.ndarray
    """Agent time (s)."""
    patience: np.ndarray
    """Seconds the customer waits before hanging up; inf: never."""
    escalate: np.ndarray
    """After its handle, passed on to the expert tier."""
    expert_handle: np.ndarray
    expert_patience: np.ndarray

    def __len__(self) -> int:
        return len(self.time)


def _support(scenario: Scenario) -> Support:
    """The scenario's support section: the contact centre serves only a scenario that has one."""
    return cast(Support, scenario.support)


def teams(scenario: Scenario) -> list[str]:
    """The teams this scenario staffs: its channels, and the expert tier."""
    return [team for team in TEAMS if team == "experts" or team in _support(scenario).channels]


def until(scenario: Scenario) -> float:
    """When support stops being simulated: support.until, else the clock's horizon."""
    support = _support(scenario)
    return support.until if support.until is not None else scenario.clock.horizon


# -- contacts ------------------------------------------------------------------------------------


def _events(result: dict, source: str) -> np.ndarray:
    """Per-second counts of the sale's events of one kind (index k counts [k, k + 1))."""
    if source == "timed_out":
        parts = [ep["series"]["timed_out"] for ep in result["endpoints"].values()]
    elif source == "payment_failed":
        parts = [stock["series"]["declined"] for stock in result["stock"].values()]
    else:
        parts = [result["shoppers"]["series"][source]]
    total = np.zeros(len(result["shoppers"]["series"]["arrivals"]), dtype=np.int64)
    for part in parts:
        total += np.asarray(part, dtype=np.int64)
    return total


def contacts(scenario: Scenario, result: dict, stream: Callable[[str], np.random.Generator]) -> ContactLog:
    """The contacts of one replication, from its results (before support is added) and its named streams.

    Steady contacts are a Poisson process over [0, until); each event source keeps a binomial `share`
    of its events per second, placed uniformly in their second, then `delay` later. Contacts after
    `until` are dropped. Every purpose draws from its own stream, so each is reproducible alone.
    """
    support = _support(scenario)
    end = until(scenario)
    times, sources, handles, escalates = [], [], [], []
    for index, name in enumerate(SOURCES):
        spec = support.contacts.get(name)
        if spec is None:
            continue
        rng = stream(f"support:{name}")
        if name == "steady":  # the schema gives steady a rate, every other source a share
            time = rng.uniform(0.0, end, rng.poisson(spec.rate * end))  # type: ignore[operator]
        else:
            kept = rng.binomial(_events(result, name), spec.share)  # type: ignore[arg-type]
            time = np.repeat(np.arange(len(kept), dtype=np.float64), kept) + rng.random(int(kept.sum()))
        time = time + spec.delay.sample(rng, len(time))
        handle = spec.handle.sample(stream(f"support:handle:{name}"), len(time))
        escalate = stream(f"support:escalate:{name}").random(len(time)) < spec.escalate
        keep = time < end
        times.append(time[keep])
        sources.append(np.full(int(keep.sum()), index, dtype=np.int8))
        handles.append(handle[keep])
        escalates.append(escalate[keep])
    order = np.argsort(np.concatenate(times or [np.empty(0)]), kind="stable")
    time, source, handle, escalate = (
        np.concatenate(a or [np.empty(0)])[order] for a in (times, sources, handles, escalates)
    )
    n = len(time)
    chat, phone = support.channels.get("chat"), support.channels.get("phone")
    team = np.where(stream("support:channel").random(n) < (chat.share if chat else 0.0), CHAT, PHONE)
    chatbot = np.array([channel.chatbot if channel else 0.0 for channel in (chat, phone)])
    bot = stream("support:chatbot").random(n) < chatbot[team]
    patience = np.full(n, np.inf)
    rng = stream("support:patience")
    for k, channel in ((CHAT, chat), (PHONE, phone)):
        if channel is not None and channel.patience is not None:
            mine = team == k
            patience[mine] = channel.patience.sample(rng, int(mine.sum()))
    experts = support.experts
    expert_patience = (
        experts.patience.sample(stream("support:expert_patience"), n)
        if experts.patience is not None
        else np.full(n, np.inf)
    )
    return ContactLog(
        time=time,
        source=source.astype(np.int8),
        team=team.astype(np.int8),
        bot=bot,
        handle=handle,
        patience=patience,
        escalate=escalate.astype(bool),
        expert_handle=experts.handle.sample(stream("support:expert_handle"), n),
        expert_patience=expert_patience,
    )


# -- the roster ----------------------------------------------------------------------------------


def on_duty(scenario: Scenario) -> np.ndarray:
    """on[s, m]: shift s is on duty at the start of minute m of [0, until); shifts repeat every day."""
    minutes = math.ceil(until(scenario) / 60)
    return shifts_on(_support(scenario).roster, scenario.clock.start_time.second_of_day, minutes)


def roster_agents(scenario: Scenario) -> dict[str, np.ndarray]:
    """Agents on duty in each minute of [0, until) per team, from the roster's shifts (overlaps add up).

    A shift counts in a minute when it is on at the minute's start: shift times fall on whole minutes."""
    on = on_duty(scenario).astype(np.int64)
    roster = _support(scenario).roster
    return {team: np.array([getattr(shift, team) for shift in roster], dtype=np.int64) @ on for team in TEAMS}


def _slots(support: Support, team: str, agents: np.ndarray) -> np.ndarray:
    """Contacts a team can hold at once, per minute: agents x concurrency, capped by max_sessions."""
    # a team other than experts names a channel (mypy sees a str; the keys are literals)
    channel = support.channels.get(team) if team != "experts" else None  # type: ignore[call-overload]
    slots = np.asarray(agents, dtype=np.int64) * (channel.concurrency if channel else 1)
    return np.minimum(slots, channel.max_sessions) if channel and channel.max_sessions else slots


# -- the contact centre --------------------------------------------------------------------------


def _queue(
    arrival: np.ndarray,
    handle: np.ndarray,
    patience: np.ndarray,
    slots: np.ndarray,
    end: float,
    per_interval: int,
    intervals: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One team: a FIFO queue in front of slots[m] slots during minute m, run to `end`.

    A free slot takes the head of the queue at once; when slots fall, busy ones finish their contact and
    are not replaced. A contact not answered by arrival + patience has hung up (it is skipped when it
    reaches the head: it never holds a slot, so leaving lazily changes nothing). Returns each contact's
    start of service (nan: never answered) and, per interval, busy slot-seconds and busy slot-seconds
    beyond the rostered slots (agents finishing a contact after their shift).
    """
    # Hot path: one loop iteration per arrival, completion and minute boundary, on Python floats.
    n = len(arrival)
    arrive, work, deadline = arrival.tolist(), handle.tolist(), (arrival + patience).tolist()
    cap_of = slots.tolist()
    started = [math.nan] * n
    busy_area, over_area = [0.0] * intervals, [0.0] * intervals
    done: list[float] = []
    waiting: deque[int] = deque()
    inf = math.inf
    busy = minute = i = 0
    cap, last = cap_of[0], 0.0
    bound = 60.0 if len(cap_of) > 1 else inf
    next_arrival = arrive[0] if n else inf
    while True:
        next_done = done[0] if done else inf
        t = min(next_arrival, next_done, bound)
        if t >= end:
            break
        if busy:
            k = minute // per_interval
            busy_area[k] += busy * (t - last)
            if busy > cap:
                over_area[k] += (busy - cap) * (t - last)
        last = t
        if t == next_done:  # a completion first: the slot it frees serves whoever comes at that instant
            heappop(done)
            busy -= 1
        elif t == bound:  # a new minute: the roster may change
            minute += 1
            cap = cap_of[minute]
            bound = 60.0 * (minute + 1) if minute + 1 < len(cap_of) else inf
        else:  # an arrival; when a slot is free the queue is empty
            if busy < cap:
                started[i] = t
                busy += 1
                heappush(done, t + work[i])
            else:
                waiting.append(i)
            i += 1
            next_arrival = arrive[i] if i < n else inf
            continue
        while busy < cap and waiting:
            j = waiting.popleft()
            if deadline[j] >= t:
                started[j] = t
                busy += 1
                heappush(done, t + work[j])
    k = minute // per_interval
    busy_area[k] += busy * (end - last)
    over_area[k] += max(0, busy - cap) * (end - last)
    return np.array(started, dtype=np.float64), np.array(busy_area), np.array(over_area)


def _peaks(arrival: np.ndarray, leave: np.ndarray, length: float, intervals: int) -> np.ndarray:
    """The longest queue in each interval, from each contact's time in the queue [arrival, leave)."""
    peak = np.zeros(intervals, dtype=np.int64)
    if not len(arrival):
        return peak
    times = np.concatenate([leave, arrival])
    delta = np.concatenate([np.full(len(leave), -1), np.ones(len(arrival), dtype=np.int64)])
    order = np.lexsort((delta, times))  # at one instant, leaving before joining
    times, level = times[order], np.cumsum(delta[order])
    np.maximum.at(peak, np.minimum(times // length, intervals - 1).astype(np.int64), level)
    before = np.searchsorted(times, length * np.arange(intervals)) - 1  # the level each interval starts with
    return np.maximum(peak, np.where(before >= 0, level[np.maximum(before, 0)], 0))


def _team(
    arrival: np.ndarray,
    handle: np.ndarray,
    patience: np.ndarray,
    slots: np.ndarray,
    agents: np.ndarray,
    deflected: np.ndarray,
    scenario: Scenario,
) -> tuple[dict, np.ndarray, np.ndarray]:
    """Serve one team's contacts: its figures per interval and in total; each contact's start and whether
    it hung up."""
    end, length = until(scenario), _support(scenario).interval
    within = scenario.targets.support.answer_within
    intervals, seconds = math.ceil(end / length), _minute_seconds(end)
    per = int(length // 60)
    start, busy, overtime = _queue(arrival, handle, patience, slots, end, per, intervals)
    answered = ~np.isnan(start)
    wait = np.where(answered, start - arrival, 0.0)
    abandoned = ~answered & (arrival + patience < end)
    leave = np.where(answered, start, np.where(abandoned, arrival + patience, end))
    of = np.minimum(arrival // length, intervals - 1).astype(np.int64)
    minute_of = np.arange(len(seconds)) // per

    def count(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        chosen = of if mask is None else of[mask]
        w = None if weights is None else (weights if mask is None else weights[mask])
        return np.bincount(chosen, weights=w, minlength=intervals)

    on = np.bincount(minute_of, weights=seconds, minlength=intervals)
    per_interval = {
        "offered": count(),
        "answered": count(answered),
        "answered_within": count(answered & (wait <= within)),
        "abandoned": count(abandoned),
        "waited": count(~(answered & (start == arrival))),
        "wait_sum": count(answered, wait),
        "queue_time": count(None, leave - arrival),
        "deflected": np.bincount(np.minimum(deflected // length, intervals - 1).astype(np.int64), minlength=intervals),
        "busy": busy,
        "overtime": overtime,
        "available": np.bincount(minute_of, weights=slots * seconds, minlength=intervals),
        "agents": np.bincount(minute_of, weights=agents * seconds, minlength=intervals) / on,
        "peak_queue": _peaks(arrival, leave, length, intervals),
    }
    in_service = answered & (start + handle > end)
    totals = {key: value.sum() for key, value in per_interval.items() if key not in ("agents", "peak_queue")}
    figures = {
        **{key: _plain(value) for key, value in totals.items()},
        "completed": int((answered & ~in_service).sum()),
        "in_service_at_end": int(in_service.sum()),
        "queued_at_end": int((~answered & ~abandoned).sum()),
        "peak_queue": int(per_interval["peak_queue"].max(initial=0)),
        "agent_hours": float(agents @ seconds) / 3600,
        "intervals": {key: [_plain(v) for v in value.tolist()] for key, value in per_interval.items()},
    }
    return figures, start, abandoned


def _plain(value: float) -> float | int:
    """A count as int, anything else as float: plain JSON numbers."""
    value = float(value)
    return int(value) if value.is_integer() else value


def _minute_seconds(end: float) -> np.ndarray:
    """Length of each minute of [0, end) (the last may be cut short)."""
    return np.minimum(60.0, end - 60.0 * np.arange(math.ceil(end / 60)))


def serve(scenario: Scenario, log: ContactLog, agents: dict[str, np.ndarray]) -> dict:
    """Run the contact centre on these contacts with `agents` on duty per team in each minute of [0, until)
    (as roster_agents gives them; sizing may pass others).

    Plain data (picklable, JSON-able): per team, figures per interval (contacts counted in the interval
    they reach that team) and in total; per shift of the scenario's roster (the contacts that reached its
    teams while it was on, its agent-hours); whether each interval, and every one, met targets.support.
    """
    support, end = _support(scenario), until(scenario)
    teams: dict[str, dict] = {}
    on = on_duty(scenario)
    seconds = _minute_seconds(end)
    passed_time: list[np.ndarray] = []
    passed_index: list[np.ndarray] = []
    reached: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for k, team in enumerate(TEAMS):
        if team == "experts":
            index = np.concatenate(passed_index or [np.empty(0, dtype=np.int64)])
            arrival = np.concatenate(passed_time or [np.empty(0)])
            order = np.argsort(arrival, kind="stable")
            index, arrival = index[order], arrival[order]
            handle, patience, deflected = log.expert_handle[index], log.expert_patience[index], np.empty(0)
        else:
            mine = log.team == k
            index = np.flatnonzero(mine & ~log.bot)
            arrival, handle, patience = log.time[index], log.handle[index], log.patience[index]
            deflected = log.time[mine & log.bot]
        duty = np.asarray(agents[team], dtype=np.float64)
        figures, start, abandoned = _team(
            arrival, handle, patience, _slots(support, team, agents[team]), duty, deflected, scenario
        )
        finish = start + handle
        escalate = log.escalate[index] if team != "experts" else np.zeros(len(index), dtype=bool)
        passes = escalate & ~np.isnan(start) & (finish < end)  # reach the experts before `until`
        figures["escalated"] = int(passes.sum())
        # a team other than experts names a channel (mypy sees a str; the keys are literals)
        channel = support.channels.get(team) if team != "experts" else None  # type: ignore[call-overload]
        figures["concurrency"] = channel.concurrency if channel else 1
        passed_time.append(finish[passes])
        passed_index.append(index[passes])
        roster = [getattr(shift, team) for shift in support.roster]
        figures["temporary_agent_hours"] = (
            float(
                sum(
                    n * (on[s] @ seconds) for s, (n, shift) in enumerate(zip(roster, support.roster)) if shift.temporary
                )
            )
            / 3600
        )
        teams[team] = figures
        reached[team] = (arrival, start, abandoned)
    return {
        "interval": support.interval,
        "until": end,
        "answer_within": scenario.targets.support.answer_within,
        "contacts": len(log),
        "sources": {
            source: int((log.source == i).sum()) for i, source in enumerate(SOURCES) if source in support.contacts
        },
        "teams": teams,
        "shifts": _shifts(scenario, reached, on, seconds),
        **_met(scenario, teams),
    }


def _shifts(scenario: Scenario, reached: dict, on: np.ndarray, seconds: np.ndarray) -> dict:
    """Per shift: its agent-hours and the contacts that reached each of its teams while it was on."""
    within = scenario.targets.support.answer_within
    out = {}
    for s, shift in enumerate(_support(scenario).roster):
        hours = float(on[s] @ seconds) / 3600
        mine = {}
        for team in TEAMS:
            agents = getattr(shift, team)
            if not agents:
                continue
            arrival, start, abandoned = reached[team]
            while_on = on[s, np.minimum(arrival // 60, on.shape[1] - 1).astype(np.int64)]
            answered = while_on & ~np.isnan(start)
            mine[team] = {
                "agents": agents,
                "agent_hours": agents * hours,
                "offered": int(while_on.sum()),
                "answered": int(answered.sum()),
                "answered_within": int((answered & (start - arrival <= within)).sum()),
                "abandoned": int((while_on & abandoned).sum()),
            }
        out[shift.name] = {
            "temporary": shift.temporary,
            "agent_hours": sum(t["agent_hours"] for t in mine.values()),
            "teams": mine,
        }
    return out


def team_met(scenario: Scenario, per: dict) -> np.ndarray:
    """Per interval, whether one team met targets.support (service level, abandonment); empty intervals pass."""
    target = scenario.targets.support
    offered = np.asarray(per["offered"], dtype=np.float64)
    ok = np.asarray(per["answered_within"]) >= target.service_level * offered - 1e-9
    if target.abandonment is not None:
        ok &= np.asarray(per["abandoned"]) <= target.abandonment * offered + 1e-9
    return ok


def _met(scenario: Scenario, teams: dict) -> dict:
    """Whether each interval (and every one) met targets.support on every team."""
    met = np.logical_and.reduce([team_met(scenario, teams[team]["intervals"]) for team in TEAMS])
    return {"intervals_met": met.tolist(), "met": bool(met.all())}


def run(scenario: Scenario, result: dict, stream: Callable[[str], np.random.Generator]) -> dict:
    """Support for one replication, as simulate_once adds it: its contacts served by the scenario's roster."""
    return serve(scenario, contacts(scenario, result, stream), roster_agents(scenario))
