"""How the shopper journey maps onto a real HTTP API: the `loadtest` section of a scenario.

Each journey step is one HTTP request whose method, path, headers and JSON body come from here, so
an SRE points the load test at their own API by editing the scenario, not Python. Strings may hold
placeholders filled per request: {sku}, {user}, {key} (the order's idempotency key), {order} (the
order id), {token} (the waiting-room token) and {accept} (whether the payment provider accepts; as
a whole JSON value it becomes true or false). The defaults fit the reference shop (loadtests/target).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from simulator.scenario.section import Section

PLACEHOLDERS = ("sku", "user", "key", "order", "token", "accept")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class HttpStep(Section):
    """One request of the journey."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str
    """Path on the target host, e.g. /products/{sku}."""
    headers: dict[str, str] = {}
    """Extra request headers."""
    body: dict[str, Any] | None = None
    """JSON body, if any."""
    sold_out: list[int] = [409]
    """Status codes meaning "no stock": an answer the shopper acts on, not an error to retry."""
    declined: list[int] = [402]
    """Status codes meaning the payment was declined (pay step): an answer, not an error."""
    field: str | None = None
    """JSON field of the response the journey needs: the order id (create_order) or token (waiting room)."""

    @model_validator(mode="after")
    def _check(self) -> HttpStep:
        if not self.path.startswith("/"):
            raise ValueError(f"path: {self.path!r} must start with /, e.g. /products/{{sku}}")
        texts = [self.path, *self.headers.values(), *_strings(self.body)]
        for name in {m for t in texts for m in _PLACEHOLDER.findall(t)}:
            if name not in PLACEHOLDERS:
                known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                raise ValueError(f"unknown placeholder {{{name}}}; use {known}")
        return self


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


class HttpSteps(Section):
    """The request of each journey step."""

    product_page: HttpStep = HttpStep(path="/products/{sku}")
    buy: HttpStep = HttpStep(path="/products/{sku}/stock")
    create_order: HttpStep = HttpStep(
        method="POST",
        path="/orders",
        headers={"Idempotency-Key": "{key}"},
        body={"sku": "{sku}", "user": "{user}"},
        field="order_id",
    )
    pay: HttpStep = HttpStep(method="POST", path="/orders/{order}/pay", body={"accept": "{accept}"})

    @model_validator(mode="after")
    def _check(self) -> HttpSteps:
        if self.create_order.field is None:
            raise ValueError("create_order.field: name the response's JSON field holding the order id")
        return self


class LoadTestMapping(Section):
    """How a load test replays the scenario's traffic against a real HTTP API."""

    waiting_room: HttpStep | None = HttpStep(method="POST", path="/queue/token", field="token")
    """Request for a waiting-room token before the journey; null if the target has no waiting room."""
    token_header: str = "X-Queue-Token"
    """Header carrying the waiting-room token on every journey request."""
    steps: HttpSteps = HttpSteps()
    max_users: int = Field(5000, ge=1)
    """Most shoppers (Locust users) one run may start: a guard against pointing a full audience at a host."""

    @model_validator(mode="after")
    def _check(self) -> LoadTestMapping:
        if self.waiting_room is not None and self.waiting_room.field is None:
            raise ValueError("waiting_room.field: name the response's JSON field holding the token")
        return self


def fill(template: Any, values: dict[str, Any]) -> Any:
    """The template with placeholders replaced: a whole "{name}" keeps the value's type (e.g. a bool)."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template
