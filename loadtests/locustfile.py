"""Locust shoppers that walk the scenario's journey against a real HTTP API.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --headless \
        --scenario scenarios/xiaomi-thursday-flash.yaml --scale 0.001 --speedup 10 --run-time 60s

One Locust user is one shopper session (an open workload, see shapes.py). It walks what the model's
shopper walks (waiting-room token, product page, buy, create order with an idempotency key, pay),
with the scenario's think times, patience, retries with backoff and segment mix, each request named
after its journey step so Locust's statistics read per endpoint. Requests, methods, headers and
bodies come from the scenario's `loadtest` section. With `--flashsim-out DIR` it also writes, into
DIR, every request with its server-side time (requests.csv), arrivals per second (arrivals.csv)
and shopper outcomes (outcomes.json): what `flashsim validate` and `calibrate` read.
"""

from __future__ import annotations

import gc
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.runners import WorkerRunner

from loadtests.recorder import Recorder
from loadtests.shapes import ScenarioShape
from simulator.analysis import collect
from simulator.model import curves, load_replay
from simulator.scenario import HttpStep, fill

GAVE_UP = "gave_up"
FREEZE_EVERY = 1.0
"""Seconds between moves of the generator's surviving objects out of the garbage collector's reach."""


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    group = parser.add_argument_group("flashsim")
    group.add_argument("--scenario", default="scenarios/xiaomi-thursday-flash.yaml", help="Scenario file to replay")
    group.add_argument("--scale", type=float, default=0.001, help="Share of the audience to send")
    group.add_argument("--speedup", type=float, default=10.0, help="Shopper-side clock compression")
    group.add_argument("--max-shoppers", type=int, default=None, help="Cap on shoppers (users) in one run")
    group.add_argument("--flashsim-workers", type=int, default=1, help="Worker processes sharing the shoppers")
    group.add_argument("--flashsim-out", default="", help="Directory for requests.csv, arrivals.csv, outcomes.json")
    group.add_argument(
        "--flashsim-set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="Override a scenario field, as flashsim's --set",
    )


@events.init.add_listener
def _init(environment: Environment, **_: Any) -> None:
    opts = environment.parsed_options
    worker = bool(getattr(opts, "worker", False))  # a worker walks the shoppers the master spawns for it
    environment.replay = load_replay(
        opts.scenario,
        opts.scale,
        opts.speedup,
        None if worker else opts.run_time,
        float("inf") if worker else opts.max_shoppers,
        tuple(opts.flashsim_set),
    )
    environment.recorder = Recorder()
    ScenarioShape.replay = environment.replay


def _freeze_survivors() -> None:
    """Each second, move what survived the young collections out of the collector's reach (gc.freeze): the
    replay's shoppers and the users are kept for the whole run anyway, and a full collection over them pauses
    every user for 30-50 ms, which the measured response times would hold. Bounded runs: little is leaked."""
    while True:
        gc.freeze()
        gevent.sleep(FREEZE_EVERY)


@events.test_start.add_listener
def _start(environment: Environment, **_: Any) -> None:
    gevent.spawn(_freeze_survivors)
    replay = environment.replay
    replay.started = time.perf_counter()
    if isinstance(environment.runner, WorkerRunner):
        replay.share = (environment.runner.worker_index, max(1, environment.parsed_options.flashsim_workers))


@events.quitting.add_listener
def _write(environment: Environment, **_: Any) -> None:
    """Every process saves its part; the master (or the only process) also merges what is there."""
    out = environment.parsed_options.flashsim_out
    if not out:
        return
    worker = isinstance(environment.runner, WorkerRunner)
    schedule = None
    if not worker:
        replay = environment.replay
        horizon = int(replay.run_time) + 1
        sale_curves = curves(replay.scenario)
        schedule = {
            "scheduled": [replay.due(s + 1) - replay.due(s) for s in range(horizon)],
            "expected": [
                sum(c.expected_between(s, min(s + 1, replay.run_time)) for c in sale_curves) for s in range(horizon)
            ],
        }
    environment.recorder.save_part(Path(out), schedule)
    if not worker:
        collect(Path(out))


class Shopper(FastHttpUser):
    """One shopper session: arrives on the scenario's curve, walks the journey once, then idles."""

    wait_time = None  # the journey sets its own pauses
    network_timeout = 60.0  # each step's own client timeout (the scenario's) is applied around it

    def on_start(self) -> None:
        self.replay = self.environment.replay
        self.me = self.replay.take()

    @task
    def visit(self) -> None:
        if self.me is not None:
            replay = self.replay
            gevent.sleep(max(0.0, replay.shoppers.time[self.me] - self.clock()))
            self.environment.recorder.arrivals[int(self.clock())] += 1
            outcome = self.journey()
            self.environment.recorder.outcomes[outcome] += 1
            self.client.client.clientpool.close()  # a shopper's browser leaves: no idle connection kept
            self.me = None
        gevent.sleep(3600)  # stay counted: Locust must not spawn a replacement for a finished shopper

    def clock(self) -> float:
        return time.perf_counter() - self.replay.started

    def journey(self) -> str:
        """The model's shopper journey (simulator/model/shopper.py), over HTTP: the outcome it ends in."""
        replay, me = self.replay, self.me
        s = replay.shoppers
        scenario = replay.scenario
        sale = scenario.sales[s.sale[me]]
        habits = replay.habits[s.segment[me]]
        steps = scenario.loadtest.steps
        self.habits = habits
        self.give_up_at = max(self.clock(), sale.open) + s.patience[me]
        self.values = {
            "sku": sale.sku,
            "user": f"shopper-{me}-{uuid.uuid4().hex[:8]}",
            "key": uuid.uuid4().hex,
            "order": "",
            "token": "",
            "accept": s.accepted[me],
        }
        self.headers: dict[str, str] = {}
        room = scenario.loadtest.waiting_room
        if room is not None:
            kind, body = self.call("token", room, None)
            if kind != "ok":
                return GAVE_UP
            self.values["token"] = str(body.get(room.field, ""))
            self.headers[scenario.loadtest.token_header] = self.values["token"]
        if self.call("product_page", steps.product_page, scenario.system.endpoints.product_page)[0] == GAVE_UP:
            return GAVE_UP
        if not s.buys[me]:
            return "left_funnel"
        gevent.sleep(max(0.0, sale.open - self.clock()) + habits.think())
        refresh_until = None
        while True:
            kind, _ = self.call("buy", steps.buy, scenario.system.endpoints.buy)
            if kind == GAVE_UP:
                return GAVE_UP
            if kind == "ok":
                gevent.sleep(habits.think())
                kind, body = self.call("create_order", steps.create_order, scenario.system.endpoints.create_order)
                if kind == GAVE_UP:
                    return GAVE_UP
                if kind == "ok":
                    self.values["order"] = str(body.get(steps.create_order.field, ""))
                    break
            if not s.keeps_trying[me]:
                return "sold_out"
            if refresh_until is None:
                refresh_until = self.clock() + habits.keep_trying_for
            wait = habits.refresh()
            if self.clock() + wait > refresh_until:
                return "sold_out"
            gevent.sleep(wait)
        if not s.pays[me]:
            return "left_funnel"
        gevent.sleep(habits.pay_delay())
        kind, _ = self.call("pay", steps.pay, scenario.system.endpoints.pay)
        if kind == GAVE_UP:
            return GAVE_UP
        return "bought" if kind == "ok" else "left_funnel"

    def call(self, step: str, http: HttpStep, endpoint) -> tuple[str, dict]:
        """One step with the scenario's retries: ("ok" | "sold_out" | "declined" | GAVE_UP, response JSON)."""
        habits = self.habits
        timeout = endpoint.timeout if endpoint is not None else None
        wait = habits.backoff
        for attempt in range(habits.max_retries + 1):
            kind, body = self.request(step, http, timeout)
            if kind is not None:
                return kind, body
            if attempt == habits.max_retries:
                break
            pause = habits.pause(wait)
            if self.clock() + pause > self.give_up_at:
                break
            gevent.sleep(pause)
            wait = habits.next_backoff(wait)
        return GAVE_UP, {}

    def request(self, step: str, http: HttpStep, timeout: float | None) -> tuple[str | None, dict]:
        """Send one request; its answer, or None for a failure to retry (error status, timeout, no connection)."""
        headers = {**self.headers, **{k: str(v) for k, v in fill(http.headers, self.values).items()}}
        body = fill(http.body, self.values) if http.body is not None else None
        path = fill(http.path, self.values)
        sent = self.clock()
        start = time.perf_counter()
        try:
            with (
                gevent.Timeout(timeout),
                self.client.request(
                    http.method, path, name=step, headers=headers, json=body, catch_response=True
                ) as response,
            ):
                status = response.status_code or 0
                if status in http.sold_out:
                    response.success()
                    kind = "sold_out"
                elif status in http.declined:
                    response.success()
                    kind = "declined"
                elif 200 <= status < 300:
                    kind = "ok"
                else:
                    response.failure(f"HTTP {status}")
                    kind = None
                server = _server_timing(response.headers.get("Server-Timing", ""))
                data = _json(response) if kind == "ok" else {}
        except gevent.Timeout:
            elapsed = (time.perf_counter() - start) * 1000
            self.environment.events.request.fire(
                request_type=http.method,
                name=step,
                response_time=elapsed,
                response_length=0,
                exception=TimeoutError(f"client timeout after {timeout:g} s"),
                context={},
                response=None,
                url=path,
            )
            self.environment.recorder.request(step, sent, elapsed, {}, 0)
            return None, {}
        self.environment.recorder.request(step, sent, (time.perf_counter() - start) * 1000, server, status)
        return kind, data


def _server_timing(header: str) -> dict[str, float]:
    """`Server-Timing: wait;dur=1.2, app;dur=20.5, cpu;dur=900;desc="123"` as {"wait": 1.2, "app": 20.5,
    "cpu": 900.0, "process": 123.0} (milliseconds; `process` is the serving process, from cpu's description)."""
    out = {}
    for metric in header.split(","):
        name, _, params = metric.strip().partition(";")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            try:
                if key == "dur":
                    out[name.strip()] = float(value)
                elif key == "desc" and name.strip() == "cpu":
                    out["process"] = float(value.strip('"'))
            except ValueError:
                pass
    return out


def _json(response) -> dict:
    try:
        data = response.json()
    except Exception:  # a body that is not JSON simply carries no fields
        return {}
    return data if isinstance(data, dict) else {}


__all__ = ["Shopper", "ScenarioShape"]
