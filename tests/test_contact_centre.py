"""The support contact centre: queueing theory, conservation, the roster, reproducibility, bad input."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner

from simulator import simulate
from simulator.analysis.theory import erlang_a, mmc
from simulator.cli import main
from simulator.engine.streams import streams
from simulator.model.contact_centre import ContactLog, contacts, roster_agents, serve, until
from simulator.model.replication import simulate_once
from simulator.scenario.support import SOURCES
from tests.conftest import load_text

# A shop of a few shoppers, so the replication is all support: one steady source on the phone, one
# shift of agents all day, 20 hours of contacts.
STEADY = """\
name: support
clock: {start: "00:00", horizon: 10m}
seed: 3
audience:
  size: 20
  arrivals: {shape: flat}
  behaviour: {funnel: {buy: 0}}
sales: [{name: s, open: "+0s", sku: item, price: 1}]
system:
  pools: {web: {workers: 4}}
  endpoints: {product_page: {pool: web, service: exp(100ms)}}
inventory: {skus: {item: {stock: 5}}}
support:
  contacts:
    steady: {rate: 0.1/s, handle: exp(100s)}
  channels:
    phone: {share: 1, patience: null}
  roster:
    - {name: all-day, start: "00:00", end: "24:00", phone: 12}
  until: +20h
"""

# A sale that makes every kind of event: sold out, declined payments, timeouts and give-ups.
SALE = """\
name: support-sale
clock: {start: "19:50", horizon: 20m}
seed: 5
audience:
  size: 3000
  arrivals: {build_up: 10m, surge_share: 0.5, decay: 2m}
  behaviour:
    patience: exp(30s)
    funnel: {buy: 0.9, pay: 0.95, pay_success: 0.7}
sales: [{name: flash, open: "20:00", sku: phone, price: 1999}]
system:
  pools:
    web: {workers: 20, queue_limit: 200}
    order: {workers: 4, queue_limit: 40}
  endpoints:
    product_page: {pool: web, service: exp(20ms), timeout: 1s}
    buy: {pool: web, service: exp(20ms), timeout: 1s}
    create_order: {pool: order, service: exp(50ms), timeout: 500ms}
    pay: {pool: order, service: exp(100ms), timeout: 2s}
inventory: {skus: {phone: {stock: 300, payment_window: 5m}}}
support:
  contacts:
    steady: {rate: 0.02/s, handle: exp(3m)}
    bought: {share: 0.3, delay: exp(5m), handle: exp(4m), escalate: 0.3}
    payment_failed: {share: 0.6, delay: exp(2m), handle: exp(5m), escalate: 0.4}
    sold_out: {share: 0.1, delay: exp(10m), handle: exp(2m)}
    gave_up: {share: 0.2, delay: exp(10m), handle: exp(3m), escalate: 0.1}
    timed_out: {share: 0.05, delay: exp(5m), handle: exp(2m)}
  channels:
    chat: {share: 0.6, concurrency: 2, chatbot: 0.3, max_sessions: 8}
    phone: {share: 0.4, patience: exp(2m)}
  experts: {handle: exp(10m), patience: exp(30m)}
  roster:
    - {name: evening, start: "18:00", end: "20:30", chat: 5, phone: 6, experts: 2}
    - {name: night, start: "20:30", end: "02:00", chat: 3, phone: 4, experts: 2, temporary: true}
  interval: 5m
  until: +2h
"""


def _phone(summary: dict) -> dict:
    return summary["support"]["teams"]["phone"]


def inside(leaf: dict, value: float) -> bool:
    return leaf["ci95"][0] <= value <= leaf["ci95"][1]


# -- queueing theory -----------------------------------------------------------------------------------------


def test_service_level_asa_and_p_wait_match_erlang_c(tmp_path):
    """Poisson contacts 0.1/s, exponential handle 100 s, 12 agents: M/M/12 at utilisation 0.83."""
    scenario = load_text(tmp_path, STEADY, "support.until=+40h")
    phone = _phone(simulate(scenario, replications=24).summary)
    theory = mmc(0.1, 0.01, 12)
    assert 0.6 < theory.service_level(20) < 0.8  # a case where waiting matters
    assert inside(phone["service_level"], theory.service_level(20)), (phone["service_level"], theory.service_level(20))
    # ASA is the mean wait of those answered; nobody hangs up here, so it is Erlang C's Wq over all arrivals
    assert inside(phone["asa"], theory.mean_wait), (phone["asa"], theory.mean_wait)
    assert inside(phone["mean_wait"], theory.mean_wait), (phone["mean_wait"], theory.mean_wait)
    assert inside(phone["p_wait"], theory.p_wait), (phone["p_wait"], theory.p_wait)
    assert inside(phone["occupancy"], theory.utilisation), (phone["occupancy"], theory.utilisation)
    assert phone["abandoned"]["mean"] == 0


def test_service_level_abandonment_and_mean_wait_match_erlang_a(tmp_path):
    """Exponential patience of 60 s, 0.12 contacts/s on 10 agents: overloaded without abandonment (rho 1.2)."""
    scenario = load_text(
        tmp_path,
        STEADY,
        "support.contacts.steady.rate=0.12/s",
        "support.channels.phone.patience=exp(60s)",
        "support.roster[0].phone=10",
        "support.until=+40h",
    )
    phone = _phone(simulate(scenario, replications=24).summary)
    theory = erlang_a(0.12, 0.01, 10, 1 / 60)
    assert 0.15 < theory.p_abandon < 0.3
    within = theory.p_wait_within(20)
    assert inside(phone["service_level"], within), (phone["service_level"], within)
    assert inside(phone["abandonment"], theory.p_abandon), (phone["abandonment"], theory.p_abandon)
    # ErlangA.mean_wait is Lq / lam: time in the queue over all arrivals, abandoners included (not ASA)
    assert inside(phone["mean_wait"], theory.mean_wait), (phone["mean_wait"], theory.mean_wait)
    assert inside(phone["p_wait"], theory.p_wait), (phone["p_wait"], theory.p_wait)


def test_chat_with_concurrency_k_is_phone_with_k_times_the_agents(tmp_path):
    phone = load_text(tmp_path, STEADY, "support.channels.phone.patience=exp(60s)")
    chat = load_text(
        tmp_path,
        STEADY,
        "support.channels={chat: {share: 1, concurrency: 3, patience: exp(60s)}}",
        "support.roster[0]={name: all-day, start: '00:00', end: '24:00', chat: 4}",
    )
    seed = np.random.SeedSequence(11)
    result = simulate_once(phone, seed)
    phone_log, chat_log = (contacts(s, result, streams(seed)) for s in (phone, chat))
    assert (phone_log.team == 1).all() and (chat_log.team == 0).all()
    for field in ("time", "handle", "patience"):
        assert np.array_equal(getattr(phone_log, field), getattr(chat_log, field)), field
    by_phone = serve(phone, phone_log, roster_agents(phone))["teams"]["phone"]
    by_chat = serve(chat, chat_log, roster_agents(chat))["teams"]["chat"]
    assert by_phone["offered"] > 5000 and by_phone["abandoned"] > 0
    same = (
        "offered",
        "answered",
        "answered_within",
        "abandoned",
        "waited",
        "wait_sum",
        "busy",
        "available",
        "peak_queue",
        "queued_at_end",
        "in_service_at_end",
    )
    assert {k: by_chat[k] for k in same} == {k: by_phone[k] for k in same}
    assert by_chat["intervals"]["answered_within"] == by_phone["intervals"]["answered_within"]
    assert by_chat["agent_hours"] * 3 == by_phone["agent_hours"]


# -- the event logic, by hand ----------------------------------------------------------------------------------


def test_a_shift_ending_lets_busy_agents_finish_and_queued_contacts_start_when_agents_return(tmp_path):
    scenario = load_text(tmp_path, STEADY, "clock.horizon=5m", "support.until=null", "support.interval=1m")
    inf = math.inf
    log = ContactLog(
        time=np.array([10.0, 20, 100, 130, 250]),
        source=np.zeros(5, np.int8),
        team=np.ones(5, np.int8),
        bot=np.zeros(5, bool),
        handle=np.array([100.0, 30, 50, 10, 100]),
        patience=np.array([inf, inf, 1000, 60, inf]),
        escalate=np.zeros(5, bool),
        expert_handle=np.ones(5),
        expert_patience=np.full(5, inf),
    )
    agents = {"chat": np.zeros(5, int), "phone": np.array([1, 1, 0, 0, 2]), "experts": np.zeros(5, int)}
    phone = serve(scenario, log, agents)["teams"]["phone"]
    # starts: 10, 110 (when the first is done), 240 (agents back), never (hung up at 190), 250
    assert phone["answered"] == 4 and phone["abandoned"] == 1
    assert phone["wait_sum"] == 0 + 90 + 140 + 0
    assert phone["answered_within"] == 2
    assert phone["completed"] == 3 and phone["in_service_at_end"] == 1 and phone["queued_at_end"] == 0
    assert phone["busy"] == 100 + 30 + 50 + 50  # to the end of support at 300 s
    assert phone["overtime"] == 20  # the second contact, 120 s to 140 s, after its agent's shift
    assert phone["available"] == 60 + 60 + 0 + 0 + 120
    assert phone["peak_queue"] == 2
    assert phone["intervals"]["offered"] == [2, 1, 1, 0, 1]
    assert phone["intervals"]["agents"] == [1, 1, 0, 0, 2]


# -- conservation --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sale(tmp_path_factory):
    scenario = load_text(tmp_path_factory.mktemp("sale"), SALE)
    seed = np.random.SeedSequence(1)
    rep = simulate_once(scenario, seed)
    return scenario, seed, rep


def test_every_contact_offered_is_answered_abandoned_or_still_there(sale):
    scenario, seed, rep = sale
    support, log = rep["support"], contacts(scenario, {k: v for k, v in rep.items() if k != "support"}, streams(seed))
    teams = support["teams"]
    for team, t in teams.items():
        assert t["offered"] == t["answered"] + t["abandoned"] + t["queued_at_end"], team
        assert t["answered"] == t["completed"] + t["in_service_at_end"], team
        assert t["answered_within"] <= t["answered"], team
        for key in ("offered", "answered", "abandoned", "deflected"):
            assert sum(t["intervals"][key]) == t[key], (team, key)
        assert t["offered"] > 10 and t["answered"] > 0, team
    assert teams["chat"]["abandoned"] + teams["phone"]["abandoned"] > 0  # patience is exercised
    # the chatbot's contacts never reach an agent; every other contact reaches its team
    assert teams["chat"]["deflected"] == int((log.bot & (log.team == 0)).sum()) > 0
    assert teams["phone"]["deflected"] == teams["experts"]["deflected"] == 0
    assert teams["chat"]["offered"] + teams["phone"]["offered"] == int((~log.bot).sum())
    assert support["contacts"] == len(log) == sum(support["sources"].values())
    # escalated contacts reach the experts, exactly those finished before `until`
    assert teams["experts"]["offered"] == teams["chat"]["escalated"] + teams["phone"]["escalated"] > 0
    assert teams["experts"]["escalated"] == 0
    # a capped chat system never holds more than max_sessions (5 agents x 2 chats would be 10)
    assert max(teams["chat"]["intervals"]["available"]) == 8 * scenario.support.interval


def test_event_contacts_follow_the_sale_series(sale):
    scenario, seed, rep = sale
    shop = {k: v for k, v in rep.items() if k != "support"}
    events = {
        "bought": sum(rep["shoppers"]["series"]["bought"]),
        "sold_out": sum(rep["shoppers"]["series"]["sold_out"]),
        "gave_up": sum(rep["shoppers"]["series"]["gave_up"]),
        "timed_out": sum(sum(ep["series"]["timed_out"]) for ep in rep["endpoints"].values()),
        "payment_failed": sum(sum(s["series"]["declined"]) for s in rep["stock"].values()),
    }
    assert events["payment_failed"] == sum(s["declined"] for s in rep["stock"].values())
    log = contacts(scenario, shop, streams(seed))
    end = until(scenario)
    for source, n in events.items():
        spec = scenario.support.contacts[source]
        assert n > 20, source  # the sale makes this kind of event
        got = int((log.source == SOURCES.index(source)).sum())
        expected, sd = n * spec.share, math.sqrt(n * spec.share * (1 - spec.share))
        assert abs(got - expected) <= 4 * sd + 1, (source, got, expected)  # a few late ones may pass `until`
    assert (log.time < end).all() and (np.diff(log.time) >= 0).all()
    none = load_scenario_with(scenario, bought=0.0)
    log = contacts(none, shop, streams(seed))
    assert (log.source == SOURCES.index("bought")).sum() == 0


def load_scenario_with(scenario, bought: float):
    contacts_ = dict(scenario.support.contacts)
    contacts_["bought"] = contacts_["bought"].model_copy(update={"share": bought})
    support = scenario.support.model_copy(update={"contacts": contacts_})
    return scenario.model_copy(update={"support": support})


# -- the roster ----------------------------------------------------------------------------------------------


def test_roster_counts_overlapping_shifts_over_midnight_and_one_begun_before_the_start(tmp_path):
    scenario = load_text(
        tmp_path,
        STEADY,
        "clock.start=22:30",
        "support.until=+25h",
        "support.roster=["
        "{name: night, start: '22:00', end: '06:00', phone: 3},"
        "{name: day, start: '08:00', end: '16:00', phone: 5, chat: 1},"
        "{name: late, start: '14:00', end: '23:00', phone: 2},"
        "{name: experts, start: '09:30', end: '09:30', experts: 1}]",
    )
    agents = roster_agents(scenario)
    assert len(agents["phone"]) == 25 * 60

    def at(clock: str) -> int:  # the minute starting at this time of day (the day after the start)
        h, m = map(int, clock.split(":"))
        return ((h * 60 + m) - (22 * 60 + 30)) % (24 * 60)

    phone = agents["phone"]
    assert phone[0] == 3 + 2  # 22:30: night (begun at 22:00, before the start) and late
    assert phone[at("23:00")] == 3  # late has ended
    assert phone[at("05:59")] == 3 and phone[at("06:00")] == 0  # night ends over midnight
    assert phone[at("08:00")] == 5 and phone[at("14:00")] == 7 and phone[at("16:00")] == 2
    assert phone[at("22:00")] == 3 + 2 and phone[24 * 60] == 3 + 2  # the next evening, as the first
    assert agents["chat"].sum() == 8 * 60 and agents["chat"][at("07:59")] == 0
    assert (agents["experts"] == 1).all()  # a shift ending at its start runs 24 hours


def test_fewer_agents_never_give_a_better_service_level(sale):
    """FIFO without hanging up: every contact waits at least as long with fewer agents (same contacts)."""
    scenario, seed, rep = sale
    scenario = scenario.model_copy(
        update={
            "support": scenario.support.model_copy(
                update={
                    "channels": {
                        k: c.model_copy(update={"patience": None}) for k, c in scenario.support.channels.items()
                    }
                }
            )
        }
    )
    log = contacts(scenario, {k: v for k, v in rep.items() if k != "support"}, streams(seed))
    full = roster_agents(scenario)
    more = serve(scenario, log, full)["teams"]
    fewer = serve(scenario, log, {team: np.maximum(a - 1, 0) for team, a in full.items()})["teams"]
    for team in ("chat", "phone"):  # chat: 5 agents x 2 or 4 x 2 are both capped at 8 chats before 20:30
        assert all(
            f <= m
            for f, m in zip(fewer[team]["intervals"]["answered_within"], more[team]["intervals"]["answered_within"])
        ), team
        assert fewer[team]["answered"] <= more[team]["answered"], team
        assert fewer[team]["queue_time"] >= more[team]["queue_time"], team  # to `until` for those still waiting
    assert fewer["phone"]["answered_within"] < more["phone"]["answered_within"]
    assert fewer["phone"]["queue_time"] > more["phone"]["queue_time"]


# -- reproducible ------------------------------------------------------------------------------------------


def test_same_seed_same_support_and_the_roster_never_changes_the_contacts(sale):
    scenario, seed, rep = sale
    again = simulate_once(scenario, np.random.SeedSequence(1))
    assert again["support"] == rep["support"]
    other = scenario.model_copy(
        update={
            "support": scenario.support.model_copy(
                update={
                    "roster": [s.model_copy(update={"phone": s.phone + 5, "chat": 0}) for s in scenario.support.roster]
                }
            )
        }
    )
    shop = {k: v for k, v in rep.items() if k != "support"}
    a, b = contacts(scenario, shop, streams(seed)), contacts(other, shop, streams(seed))
    for field in dataclasses.fields(ContactLog):
        assert np.array_equal(getattr(a, field.name), getattr(b, field.name)), field.name
    # support draws from streams of its own: the sale is the same with or without it
    without = simulate_once(scenario.model_copy(update={"support": None}), np.random.SeedSequence(1))
    assert without["shoppers"] == shop["shoppers"] and without["stock"] == shop["stock"]
    assert (
        serve(other, b, roster_agents(other))["teams"]["phone"]["answered_within"]
        > rep["support"]["teams"]["phone"]["answered_within"]
    )


def test_summary_gives_support_per_interval_and_the_share_of_replications_meeting_the_target(tmp_path):
    scenario = load_text(tmp_path, SALE)
    summary = simulate(scenario, replications=3).summary
    support = summary["support"]
    assert len(support["intervals"]) == 24 and support["intervals"][2]["clock"] == "20:00:00"
    met = [i["met"]["mean"] for i in support["intervals"]]
    assert support["all_intervals_met"]["mean"] <= min(met)
    [target] = [t for t in summary["targets"] if t["target"].startswith("support")]
    assert target["value"] == support["all_intervals_met"]["mean"] and target["bound"] == 0.95
    night = support["shifts"]["night"]
    assert night["temporary"] is True and night["teams"]["phone"]["agents"] == 4
    assert night["agent_hours"]["mean"] == pytest.approx((3 + 4 + 2) * 80 / 60)  # 20:30 to 21:50 (until)
    phone = support["teams"]["phone"]
    assert phone["temporary_agent_hours"]["mean"] == pytest.approx(4 * 80 / 60)
    assert phone["agent_hours"]["mean"] == pytest.approx(6 * 40 / 60 + 4 * 80 / 60)
    assert phone["offered"]["mean"] == pytest.approx(
        sum(i["teams"]["phone"]["offered"]["mean"] for i in support["intervals"])
    )
    assert phone["service_level"]["ci95"] is not None


# -- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        (
            'start: "00:00", end',
            'start: "25:00", end',
            "25:00",
            "support.roster[0].start",
            r"'25:00' is not a clock time",
        ),
        (
            "{rate: 0.1/s,",
            "{rate: 0.1/s, share: 0.5,",
            "steady:",
            "support.contacts.steady",
            r"give a rate .*not a share",
        ),
        (
            "phone: {share: 1, patience: null}",
            "phone: {share: 0.7, patience: null}",
            "phone: {share",
            "support.channels",
            r"shares sum to 0\.7; they must sum to 1",
        ),
        (
            "  until: +20h\n",
            "    - {name: all-day, start: '08:00', end: '09:00', chat: 1}\n  until: +20h\n",
            '- {name: all-day, start: "',
            "support.roster",
            r"shift names repeat \(all-day\)",
        ),
    ],
    ids=["shift-time", "steady-share", "channel-shares", "shift-names"],
)
def test_bad_support_input_is_one_line_naming_the_field(tmp_path, old, new, needle, path, message):
    assert STEADY.count(old) == 1
    text = STEADY.replace(old, new)
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(file)])
    assert result.exit_code == 2, result.output
    [line] = [x for x in result.stderr.splitlines() if x.strip()]
    number = next(n for n, x in enumerate(text.splitlines(), start=1) if needle in x)
    assert line.startswith(f"{file}:{number}: {path}: "), line
    assert re.search(message, line), line


def test_compare_shows_what_more_agents_buy_on_the_same_contacts(tmp_path):
    from simulator.analysis.compare import compare

    path = tmp_path / "sale.yaml"
    path.write_text(SALE + "plans:\n  more-agents:\n    set:\n      support.roster[0].phone: 12\n")
    rows = {row.figure: row for row in compare(path, replications=3).rows}
    hours = rows["support.teams.phone.agent_hours"].plans["more-agents"]["diff"]["mean"]
    assert hours == pytest.approx(6 * 40 / 60)  # six more phone agents for the 40 minutes of the shift after 19:50
    assert rows["support.contacts"].plans["more-agents"]["diff"]["mean"] == 0  # the same contacts
    assert rows["support.teams.phone.service_level"].plans["more-agents"]["diff"]["mean"] > 0
    assert rows["support.teams.phone.abandonment"].plans["more-agents"]["diff"]["mean"] < 0
