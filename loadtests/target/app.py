"""The reference shop's HTTP API (Starlette): a waiting-room token, the journey, a red-packet grab.

Each request of a named endpoint takes one of the process's slots (first come, first served), spends
the endpoint's added service time holding it, does its store work, and answers with
`Server-Timing: wait;dur=<ms waiting for a slot>, app;dur=<ms holding it>`. With slots and service
times set, the shop is a system of known capacity for `flashsim validate` to predict.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from loadtests.target.config import ENDPOINTS, ShopConfig
from loadtests.target.store import DECLINED, EXPIRED, NOT_FOUND, PAID, RESERVED, SOLD_OUT, SqliteStore
from simulator.distributions import Sampler, parse_distribution

SWEEP_EVERY = 1.0
"""Seconds between sweeps that return the units of expired orders."""


class ThreadedSqlite:
    """The SQLite store's calls made awaitable: one thread per process, so its transactions queue there."""

    def __init__(self, path: str):
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self.store = SqliteStore(path)

    def __getattr__(self, name: str) -> Callable[..., Awaitable]:
        method = getattr(self.store, name)

        async def call(*args):
            return await asyncio.get_running_loop().run_in_executor(self.executor, partial(method, *args))

        return call

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self.executor, self.store.close)
        self.executor.shutdown()


def open_store(url: str):
    """The store behind a URL: sqlite:///path or redis://host:port/db."""
    if url.startswith("redis://"):
        from loadtests.target.redis_store import RedisStore

        return RedisStore(url)
    return ThreadedSqlite(url.removeprefix("sqlite:///"))


def create_app(config: ShopConfig | None = None) -> Starlette:
    """The shop for one server process (uvicorn calls this in each worker)."""
    config = config or ShopConfig.from_env()
    rng = np.random.default_rng()
    services = {name: Sampler(parse_distribution(text, None), rng) for name, text in config.service.items()}
    state: dict = {}

    def endpoint(name: str):
        """Wrap a handler: slot, added service, store work, Server-Timing."""
        service = services.get(name)

        def wrap(handler):
            async def handle(request: Request) -> JSONResponse:
                entered = time.perf_counter()
                async with state["slots"] or contextlib.nullcontext():
                    started = time.perf_counter()
                    if service is not None:
                        await asyncio.sleep(service())
                    try:
                        response = await handler(request)
                    except ValueError as exc:
                        response = JSONResponse({"error": str(exc)}, status_code=400)
                    done = time.perf_counter()
                response.headers["Server-Timing"] = (f"wait;dur={(started - entered) * 1000:.3f}, "
                                                     f"app;dur={(done - started) * 1000:.3f}")
                return response

            return handle

        return wrap

    async def body(request: Request) -> dict:
        try:
            data = await request.json()
        except Exception:  # any unreadable body is the client's mistake
            raise ValueError("the body must be a JSON object") from None
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data

    @endpoint("token")
    async def token(request: Request) -> JSONResponse:
        return JSONResponse({"token": uuid.uuid4().hex})

    @endpoint("product_page")
    async def product(request: Request) -> JSONResponse:
        item = await state["store"].product(request.path_params["sku"])
        return JSONResponse(item if item else {"error": "unknown sku"}, status_code=200 if item else 404)

    @endpoint("buy")
    async def stock(request: Request) -> JSONResponse:
        item = await state["store"].product(request.path_params["sku"])
        if item is None:
            return JSONResponse({"error": "unknown sku"}, status_code=404)
        if item["available"] <= 0:
            return JSONResponse({"error": SOLD_OUT}, status_code=409)
        return JSONResponse({"available": item["available"]})

    @endpoint("create_order")
    async def create_order(request: Request) -> JSONResponse:
        key = request.headers.get("idempotency-key")
        data = await body(request)
        if not key or not isinstance(data.get("sku"), str) or not isinstance(data.get("user"), str):
            raise ValueError("send an Idempotency-Key header and a body {\"sku\": ..., \"user\": ...}")
        outcome, order = await state["store"].reserve(data["sku"], data["user"], key)
        status = {RESERVED: 201, "existing": 200, SOLD_OUT: 409, "limit": 429, NOT_FOUND: 404}[outcome]
        return JSONResponse(order if order else {"error": "unknown sku" if outcome == NOT_FOUND else outcome},
                            status_code=status)

    @endpoint("pay")
    async def pay(request: Request) -> JSONResponse:
        data = await body(request)
        if not isinstance(data.get("accept"), bool):
            raise ValueError("send a body {\"accept\": true|false}")
        outcome = await state["store"].pay(request.path_params["order_id"], data["accept"])
        status = {PAID: 200, DECLINED: 402, EXPIRED: 410, NOT_FOUND: 404}[outcome]
        return JSONResponse({"state": outcome} if outcome != NOT_FOUND else {"error": "unknown order"},
                            status_code=status)

    @endpoint("grab")
    async def grab(request: Request) -> JSONResponse:
        data = await body(request)
        if not isinstance(data.get("user"), str):
            raise ValueError("send a body {\"user\": ...}")
        outcome, amount = await state["store"].grab(request.path_params["rain"], data["user"])
        if outcome == "ok":
            return JSONResponse({"amount": amount})
        status = {NOT_FOUND: 404, "exhausted": 409, "cap": 429}[outcome]
        return JSONResponse({"error": "unknown rain" if outcome == NOT_FOUND else outcome}, status_code=status)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(await state["store"].stats())

    async def sweep() -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            with contextlib.suppress(Exception):  # a busy store is swept next time
                await state["store"].expire()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        state["store"] = open_store(config.store)
        state["slots"] = asyncio.Semaphore(config.slots) if config.slots else None
        sweeper = asyncio.create_task(sweep())
        try:
            yield
        finally:
            sweeper.cancel()
            await state["store"].close()

    assert set(config.service) <= set(ENDPOINTS), f"service times for unknown endpoints: {set(config.service)}"
    return Starlette(lifespan=lifespan, routes=[
        Route("/health", health),
        Route("/admin/stats", stats),
        Route("/queue/token", token, methods=["POST"]),
        Route("/products/{sku}", product),
        Route("/products/{sku}/stock", stock),
        Route("/orders", create_order, methods=["POST"]),
        Route("/orders/{order_id}/pay", pay, methods=["POST"]),
        Route("/redpackets/{rain}/grab", grab, methods=["POST"]),
    ])
