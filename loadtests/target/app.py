"""The reference shop's HTTP API (Starlette): a waiting-room token, the journey, a red-packet grab.

Each request to a named endpoint waits for one of the process's slots (first come, first served),
spends the endpoint's added service time holding it, does its store work, and answers with
`Server-Timing: wait;dur=<ms waiting for a slot>, app;dur=<ms holding it>`. With slots and service
times set, the shop is a system of known capacity (workers x slots servers) for `flashsim validate`.
An endpoint's hold time (`--hold`) is spent in each of its store calls holding the store: the process's
connection and, in a write, SQLite's write lock (a hot row), which caps the store's throughput at 1 / hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from loadtests.target import timing
from loadtests.target.config import ShopConfig
from loadtests.target.store import (
    CAP,
    DECLINED,
    EXHAUSTED,
    EXPIRED,
    HOLD,
    LIMIT,
    NOT_FOUND,
    OK,
    PAID,
    RESERVED,
    SOLD_OUT,
    Store,
    open_store,
)
from simulator.distributions import parse_distribution, sampler

SWEEP_EVERY = 1.0
"""Seconds between sweeps that return the units of expired orders."""
PACE_EVERY = 0.25
"""Seconds between timings of the reference work (the speed of the process's core, as it varies)."""
REFERENCE_WORK = 20_000
"""Loop iterations of the reference work: about 1-2 ms of CPU, timed on the serving thread's own clock."""


def reference_work() -> float:
    """CPU seconds a fixed computation takes on this thread now: the core's speed, which on a shared machine
    changes from one second to the next (another tenant on the same physical core, the host's clock)."""
    began, total = time.thread_time(), 0
    for i in range(REFERENCE_WORK):
        total += i * i
    return time.thread_time() - began


Handler = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")


class BadRequest(Exception):
    """The client sent something the endpoint cannot use (400, or `status`: 413 for a body too large)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


MAX_BODY = 16 * 1024
"""The largest request body the shop reads (bytes): its bodies are a few short fields."""
MAX_TEXT = 200
"""The longest SKU, user or other text field it accepts (characters)."""


def server_timing(wait: float, app: float, phases: dict[str, float] | None = None) -> str:
    """The Server-Timing header for seconds spent waiting for a slot and holding it, then the phases inside
    (`store`: awaiting the store; SQLite's `store_wait`, queued for its thread, and `db`, its work there;
    `pace`: the reference work's latest time, the core's speed), and `cpu`: the CPU time the serving process
    (its pid as the description) has used so far."""
    parts = [f"wait;dur={wait * 1000:.3f}", f"app;dur={app * 1000:.3f}"]
    parts += [f"{name};dur={seconds * 1000:.3f}" for name, seconds in (phases or {}).items()]
    # the serving process's CPU time so far: over a load test, CPU per request, process by process
    parts.append(f'cpu;dur={time.process_time() * 1000:.3f};desc="{os.getpid()}"')
    return ", ".join(parts)


async def json_body(request: Request) -> dict:
    """The request's JSON object; BadRequest for anything else: a body over MAX_BODY (413), one that is not a
    JSON object, nested too deep to parse, or with a text field over MAX_TEXT (400)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadRequest(f"the body is over {MAX_BODY} bytes", 413)
    body = b""
    async for chunk in request.stream():  # read no more than the limit, whatever the header said
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest(f"the body is over {MAX_BODY} bytes", 413)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    if any(isinstance(v, str) and len(v) > MAX_TEXT for v in data.values()):
        raise BadRequest(f"a text field is over {MAX_TEXT} characters")
    return data


def error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def render_page(item: dict, related: int) -> str:
    """The product page as HTML with `related` items listed: the CPU a real page's rendering costs."""
    name = html.escape(str(item.get("sku", "")))
    rows = "".join(
        f'<li><a href="/products/{name}-{i}">{name} accessory {i}</a> <span>&yen;{(i % 500) + 19.9:.2f}</span></li>'
        for i in range(related)
    )
    return f"<html><body><h1>{name}</h1><p>{html.escape(str(item))}</p><ul>{rows}</ul></body></html>"


def create_app(config: ShopConfig | None = None) -> Starlette:
    """The shop for one server process (uvicorn's factory: the configuration comes from the environment)."""
    config = config or ShopConfig.from_env()
    rng = np.random.default_rng()
    services = {name: sampler(parse_distribution(text, None), rng) for name, text in config.service.items()}
    holds = {name: sampler(parse_distribution(text, None), rng) for name, text in config.hold.items()}
    shop: dict = {}  # the process's store and slots, opened in lifespan

    def store() -> Store:
        return shop["store"]

    async def timed(call: Awaitable[T]) -> T:
        """Await a store call, counting its time in the request's `store` phase."""
        began = time.perf_counter()
        try:
            return await call
        finally:
            timing.add("store", time.perf_counter() - began)

    def endpoint(name: str | None) -> Callable[[Handler], Handler]:
        """A handler served in a slot with the endpoint's added service (name None: no slot, no service)."""
        service = services.get(name) if name else None
        hold = holds.get(name) if name else None

        def wrap(handler: Handler) -> Handler:
            async def handle(request: Request) -> Response:
                entered = time.perf_counter()
                phases: dict[str, float] = {}
                timing.PHASES.set(phases)  # this request's task only
                if hold is not None:
                    HOLD.set(hold())
                async with (shop["slots"] if name else None) or contextlib.nullcontext():
                    started = time.perf_counter()
                    if service is not None:
                        await asyncio.sleep(service())
                    try:
                        response = await handler(request)
                    except BadRequest as exc:
                        response = error(str(exc), exc.status)
                    done = time.perf_counter()
                phases["pace"] = shop.get("pace", 0.0)  # the core's speed lately, as the reference work's time
                response.headers["Server-Timing"] = server_timing(started - entered, done - started, phases)
                return response

            return handle

        return wrap

    @endpoint(None)
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    @endpoint(None)
    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(await timed(store().stats()))

    @endpoint("token")
    async def token(request: Request) -> JSONResponse:
        return JSONResponse({"token": uuid.uuid4().hex})  # a waiting room that admits everyone, for now

    @endpoint("product_page")
    async def product(request: Request) -> Response:
        item = await timed(store().product(request.path_params["sku"]))
        if not item:
            return error("unknown sku", 404)
        return HTMLResponse(render_page(item, config.page_items)) if config.page_items else JSONResponse(item)

    @endpoint("buy")
    async def stock(request: Request) -> JSONResponse:
        item = await timed(store().product(request.path_params["sku"]))
        if item is None:
            return error("unknown sku", 404)
        if item["available"] <= 0:
            return error(SOLD_OUT, 409)
        return JSONResponse({"available": item["available"]})

    @endpoint("create_order")
    async def create_order(request: Request) -> JSONResponse:
        key = request.headers.get("idempotency-key")
        if not key:
            raise BadRequest("send an Idempotency-Key header")
        data = await json_body(request)
        if not isinstance(data.get("sku"), str) or not isinstance(data.get("user"), str):
            raise BadRequest('send a body {"sku": "...", "user": "..."}')
        outcome, order = await timed(store().reserve(data["sku"], data["user"], key))
        if order is not None:
            return JSONResponse(order, status_code=201 if outcome == RESERVED else 200)  # 200: a repeated key
        status = {SOLD_OUT: 409, LIMIT: 429, NOT_FOUND: 404}[outcome]
        return error("unknown sku" if outcome == NOT_FOUND else outcome, status)

    @endpoint("pay")
    async def pay(request: Request) -> JSONResponse:
        data = await json_body(request)
        if not isinstance(data.get("accept"), bool):
            raise BadRequest('send a body {"accept": true} or {"accept": false}')
        outcome = await timed(store().pay(request.path_params["order_id"], data["accept"]))
        if outcome == NOT_FOUND:
            return error("unknown order", 404)
        return JSONResponse({"state": outcome}, status_code={PAID: 200, DECLINED: 402, EXPIRED: 410}[outcome])

    @endpoint("grab")
    async def grab(request: Request) -> JSONResponse:
        data = await json_body(request)
        if not isinstance(data.get("user"), str):
            raise BadRequest('send a body {"user": "..."}')
        outcome, amount = await timed(store().grab(request.path_params["rain"], data["user"]))
        if outcome == OK:
            return JSONResponse({"amount": amount})
        status = {NOT_FOUND: 404, EXHAUSTED: 409, CAP: 429}[outcome]
        return error("unknown rain" if outcome == NOT_FOUND else outcome, status)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        """Unknown paths and methods (and failures), as JSON like every other answer."""
        if isinstance(exc, HTTPException):
            response = JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        else:
            response = error("internal error", 500)
        response.headers["Server-Timing"] = server_timing(0.0, 0.0, {"pace": shop.get("pace", 0.0)})
        return response

    async def pace() -> None:
        while True:
            shop["pace"] = reference_work()
            await asyncio.sleep(PACE_EVERY)

    async def sweep() -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            with contextlib.suppress(Exception):  # a busy or unreachable store is swept next time
                await store().expire()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        shop["store"] = open_store(config.store)
        shop["slots"] = asyncio.Semaphore(config.slots) if config.slots else None
        sweeper, pacer = asyncio.create_task(sweep()), asyncio.create_task(pace())
        try:
            yield
        finally:
            sweeper.cancel()
            pacer.cancel()
            await store().close()

    return Starlette(
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: http_error},
        routes=[
            Route("/health", health),
            Route("/admin/stats", stats),
            Route("/queue/token", token, methods=["POST"]),
            Route("/products/{sku}", product),
            Route("/products/{sku}/stock", stock),
            Route("/orders", create_order, methods=["POST"]),
            Route("/orders/{order_id}/pay", pay, methods=["POST"]),
            Route("/redpackets/{rain}/grab", grab, methods=["POST"]),
        ],
    )
