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
from locust.stats import CSV_STATS_INTERVAL_SEC

from loadtests.recorder import Recorder
from loadtests.shapes import ScenarioShape
from simulator.analysis import collect
from simulator.model import curves, load_replay
from simulator.scenario import UNSAFE, BodyMatch, HttpStep, fill, read_path, requests_of

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
    group.add_argument(
        "--flashsim-overlay",
        action="append",
        default=[],
        metavar="FILE",
        help="Apply an overlay file (e.g. a target's API mapping), as flashsim's --overlay",
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
        tuple(opts.flashsim_overlay),
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
    if not worker and environment.parsed_options.csv_prefix:
        # Locust rewrites locust_stats.csv each CSV_STATS_INTERVAL_SEC and not at its exit: wait for one more
        # rewrite, after the users stopped, so its counts hold the last second's requests as the parts do
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.2)
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
        mapping = scenario.loadtest
        steps, endpoints = mapping.steps, scenario.system.endpoints
        self.habits = habits
        self.give_up_at = max(self.clock(), sale.open) + s.patience[me]
        self.values: dict[str, Any] = {
            "sku": mapping.sku_ids.get(sale.sku, sale.sku),
            "user": f"shopper-{me}-{uuid.uuid4().hex[:8]}",
            "shopper": me,
            "key": uuid.uuid4().hex,
            "order": "",
            "token": "",
            "accept": s.accepted[me],
        }
        self.headers: dict[str, str] = {}
        if mapping.waiting_room is not None:
            if self.call("token", [mapping.waiting_room], None, "token") != "ok":
                return GAVE_UP
            self.headers[mapping.token_header] = str(self.values["token"])
        if mapping.login is not None and self.call("login", requests_of(mapping.login), None) != "ok":
            return GAVE_UP
        if self.call("product_page", requests_of(steps.product_page), endpoints.product_page) == GAVE_UP:
            return GAVE_UP
        if not s.buys[me]:
            return "left_funnel"
        gevent.sleep(max(0.0, sale.open - self.clock()) + habits.think())
        refresh_until = None
        while True:
            kind = self.call("buy", requests_of(steps.buy), endpoints.buy)
            if kind == GAVE_UP:
                return GAVE_UP
            if kind == "ok":
                gevent.sleep(habits.think())
                kind = self.call("create_order", requests_of(steps.create_order), endpoints.create_order, "order")
                if kind == GAVE_UP:
                    return GAVE_UP
                if kind == "ok":
                    self.environment.recorder.orders.append(str(self.values["order"]))
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
        kind = self.call("pay", requests_of(steps.pay), endpoints.pay)
        if kind == GAVE_UP:
            return GAVE_UP
        return "bought" if kind == "ok" else "left_funnel"

    def call(self, step: str, requests: list[HttpStep], endpoint, value: str | None = None) -> str:
        """One step with the scenario's retries: "ok" | "sold_out" | "declined" | GAVE_UP. A retry resumes at
        the request that failed (the basket already holds what an earlier request added); each request has
        the retries of its own, as in the model."""
        habits = self.habits
        timeout = endpoint.timeout if endpoint is not None else None
        wait, start, retries = habits.backoff, 0, 0
        while True:
            kind, failed = self.attempt(step, requests, start, timeout, value)
            if kind is not None:
                return kind
            if failed > start:  # a later request failed: its own retries, from the first backoff
                start, retries, wait = failed, 0, habits.backoff
            if retries == habits.max_retries or self.environment.recorder.problems:
                break
            retries += 1
            pause = habits.pause(wait)
            if self.clock() + pause > self.give_up_at:
                break
            gevent.sleep(pause)
            wait = habits.next_backoff(wait)
        return GAVE_UP

    def attempt(
        self, step: str, requests: list[HttpStep], start: int, timeout: float | None, value: str | None
    ) -> tuple[str | None, int]:
        """Send the step's requests from `start` until one does not answer "ok": its answer (None: a failure to
        retry) and its index. Each request is a row of requests.csv under the step's name, as the model sends
        a step of several requests (its endpoint's `requests`)."""
        kind: str | None = None
        index = start
        for index in range(start, len(requests)):
            http = requests[index]
            name = step if len(requests) == 1 else f"{step}:{http.name or index + 1}"
            sent = self.clock()
            began = time.perf_counter()
            kind, status, timing = self.request(name, http, timeout, value)
            self.environment.recorder.request(step, sent, (time.perf_counter() - began) * 1000, timing, status)
            if kind != "ok":
                break
        return kind, index

    def request(
        self, name: str, http: HttpStep, timeout: float | None, value: str | None
    ) -> tuple[str | None, int, dict[str, float]]:
        """Send one request: its answer (None: a failure to retry: error status, timeout, no connection), its
        status and its Server-Timing. An "ok" answer's saved fields become values later requests use."""
        headers = {**self.headers, **{k: str(v) for k, v in fill(http.headers, self.values).items()}}
        csrf = self.replay.scenario.loadtest.csrf
        if csrf is not None and http.method in UNSAFE:
            token = next((c.value for c in self.client.cookiejar if c.name == csrf.cookie), None)
            if token:
                headers[csrf.header] = token
        body = fill(http.body, self.values) if http.body is not None else None
        path = fill(http.path, self.values)
        start = time.perf_counter()
        try:
            with (
                gevent.Timeout(timeout),
                self.client.request(
                    http.method, path, name=name, headers=headers, json=body, catch_response=True
                ) as response,
            ):
                status = response.status_code or 0
                saves = http.saves(value)
                # the body parsed once, where the mapping reads it (the generator's CPU is the measurement's)
                data = _json(response) if saves or http.sold_out_if or http.declined_if else None
                kind = _answer(http, status, data, response)
                if kind is None:
                    response.failure(f"HTTP {status}")
                else:
                    response.success()
                if kind == "ok" and not self.keep(name, saves, data, response):
                    kind = None
                # a refused or reset connection answers status 0 with no headers: a failure like any other
                server = _server_timing((response.headers or {}).get("Server-Timing", ""))
        except gevent.Timeout:
            elapsed = (time.perf_counter() - start) * 1000
            self.environment.events.request.fire(
                request_type=http.method,
                name=name,
                response_time=elapsed,
                response_length=0,
                exception=TimeoutError(f"client timeout after {timeout:g} s"),
                context={},
                response=None,
                url=path,
            )
            return None, 0, {}
        return kind, status, server

    def keep(self, name: str, saves: dict[str, str], data: Any, response) -> bool:
        """Save the fields later requests use; a field a JSON answer lacks is a mapping error: say which, stop. An
        answer that is not JSON at all (a body cut short by a dropped connection) is a failure to retry."""
        if saves and data is None:
            response.failure(f"{name}: the answer ({response.status_code}) is not JSON: nothing to save")
            return False
        for placeholder, path in saves.items():
            found, saved = read_path(data, path)
            if not found:
                keys = ", ".join(map(str, data)) if isinstance(data, (dict, list)) else repr(data)
                problem = (
                    f"{name}: the response ({response.status_code}) has no field {path!r} to save as "
                    f"{{{placeholder}}}; it has: {keys}"
                )
                response.failure(problem)
                if not self.environment.recorder.problems:
                    self.environment.recorder.problems.append(problem)
                    gevent.spawn(self.environment.runner.quit)
                return False
            self.values[placeholder] = saved
        return True


def _answer(http: HttpStep, status: int, data: Any, response) -> str | None:
    """What an answer (its JSON `data`) means to the shopper: "ok", "sold_out", "declined", or None (an error
    to retry)."""
    if status in http.sold_out or _says(http.sold_out_if, status, data, response):
        return "sold_out"
    if status in http.declined or _says(http.declined_if, status, data, response):
        return "declined"
    return "ok" if 200 <= status < 300 else None


def _says(match: BodyMatch | None, status: int, data: Any, response) -> bool:
    return match is not None and match.matches(status, data, response.text or "")


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


def _json(response) -> Any:
    try:
        return response.json()
    except Exception:  # a body that is not JSON simply carries no fields
        return None


__all__ = ["Shopper", "ScenarioShape"]
