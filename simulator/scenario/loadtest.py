"""How the shopper journey maps onto a real HTTP API: the `loadtest` section of a scenario.

Each journey step is one HTTP request, or several in order (add to basket, then check out), whose
method, path, headers and JSON body come from here, so an SRE points the load test at their own API
by editing the scenario, not Python. Strings may hold placeholders filled per request: {sku} (the
SKU, or its id on the target from `sku_ids`), {user} (a fresh user name), {shopper} (the shopper's
number in the replay), {key} (the order's idempotency key), {order} (the order id), {token} (the
waiting-room token), {accept} (whether the payment provider accepts; as a whole JSON value it becomes
true or false), and any name an earlier request saved from its response (`save`). Each shopper keeps
its own cookies (its session), and `csrf` sends a cookie's token back on every unsafe request. The
defaults fit the reference shop (loadtests/target).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from simulator.scenario.section import Section

PLACEHOLDERS = ("sku", "user", "shopper", "key", "order", "token", "accept")
SAVED = ("order", "token")
"""Placeholders a response may also set (`field` or `save`); the others are the shopper's own."""
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PATH = re.compile(r"[\w-]+(\.[\w-]+|\[\d+\])*")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def json_path(path: str) -> list[str | int]:
    """A field path's steps: `lines[0].product` or `lines.0.product` as ["lines", 0, "product"]."""
    return [int(p) if p.isdigit() else p for p in path.replace("[", ".").replace("]", "").split(".")]


def read_path(data: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of a field path in a JSON document; a number steps into a list (or a key of that name)."""
    for step in json_path(path):
        if isinstance(data, dict) and str(step) in data:
            data = data[str(step)]
        elif isinstance(data, list) and isinstance(step, int) and -len(data) <= step < len(data):
            data = data[step]
        else:
            return False, None
    return True, data


def _check_path(path: str) -> str:
    if not _PATH.fullmatch(path):
        raise ValueError(f"{path!r} is not a field path; write e.g. order_id, basket.url or lines[0].product")
    return path


def _statuses(codes: list[int]) -> list[int]:
    bad = [c for c in codes if not 100 <= c <= 599]
    if bad:
        raise ValueError(f"{bad} are not HTTP status codes (100-599)")
    return codes


class BodyMatch(Section):
    """An answer recognised by its body: a JSON field's value, or a text the body contains."""

    status: list[int] = []
    """Statuses it applies to; empty: any."""
    field: str | None = None
    """JSON field path, e.g. is_available_to_buy or errors[0].code."""
    equals: Any = None
    """The field's value that means it (with `field`)."""
    contains: str | None = None
    """Text the body holds, e.g. "out of stock" (instead of `field`)."""

    _statuses = field_validator("status")(_statuses)

    @model_validator(mode="after")
    def _check(self) -> BodyMatch:
        if (self.field is None) == (self.contains is None):
            raise ValueError("give either field (with equals) or contains")
        if self.field is not None:
            _check_path(self.field)
        return self

    def matches(self, status: int, body: Any, text: str) -> bool:
        """Whether an answer with this status, JSON body and raw text is the one meant."""
        if self.status and status not in self.status:
            return False
        if self.contains is not None:
            return self.contains in text
        found, value = read_path(body, self.field or "")
        return found and value == self.equals


class HttpStep(Section):
    """One request of the journey."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str
    """Path on the target host, e.g. /products/{sku}, or a placeholder holding one (a saved URL path)."""
    name: str | None = None
    """Its name in Locust's statistics when the step has several requests (step:name); default its number."""
    headers: dict[str, str] = {}
    """Extra request headers."""
    body: dict[str, Any] | list[Any] | None = None
    """JSON body, if any."""
    sold_out: list[int] = [409]
    """Status codes meaning "no stock": an answer the shopper acts on, not an error to retry."""
    sold_out_if: BodyMatch | None = None
    """Also "no stock" when the body says so, e.g. {field: is_available_to_buy, equals: false}."""
    declined: list[int] = [402]
    """Status codes meaning the payment was declined (pay step): an answer, not an error."""
    declined_if: BodyMatch | None = None
    """Also declined when the body says so."""
    field: str | None = None
    """JSON field path of the response holding the order id (create_order) or token (waiting room)."""
    save: dict[str, str] = {}
    """Values later requests use, read from this response: placeholder name -> JSON field path."""

    _statuses = field_validator("sold_out", "declined")(_statuses)

    @model_validator(mode="after")
    def _check(self) -> HttpStep:
        if not (self.path.startswith("/") or _PLACEHOLDER.match(self.path)):
            raise ValueError(f"path: {self.path!r} must start with / (e.g. /products/{{sku}}) or a placeholder")
        if self.field is not None:
            _check_path(self.field)
        for name, path in self.save.items():
            if not re.fullmatch(r"\w+", name):
                raise ValueError(f"save: {name!r} is not a placeholder name (letters, digits, _)")
            if name in PLACEHOLDERS and name not in SAVED:
                raise ValueError(f"save: {{{name}}} is the shopper's own; name the value otherwise")
            _check_path(path)
        return self

    def placeholders(self) -> set[str]:
        """The names this request fills in."""
        texts = [self.path, *self.headers.values(), *_strings(self.body)]
        return {m for t in texts for m in _PLACEHOLDER.findall(t)}

    def saves(self, value: str | None = None) -> dict[str, str]:
        """What this request saves: `save`, and `field` under `value` (order or token)."""
        return {**({value: self.field} if value and self.field else {}), **self.save}


Step = Annotated[
    Annotated[HttpStep, Tag("one[HttpStep]")] | Annotated[list[HttpStep], Tag("list[HttpStep]")],
    Discriminator(lambda v: "list[HttpStep]" if isinstance(v, list) else "one[HttpStep]"),
]
"""One request, or a list of them sent in order. Tagged, so an error names the reading meant, not both (the
loader leaves the bracketed tags out of a problem's path, as it does pydantic's union branches)."""


def requests_of(step: Step | None) -> list[HttpStep]:
    """A step's requests, in order."""
    return [] if step is None else step if isinstance(step, list) else [step]


def answer_statuses(step: Step | None) -> set[int]:
    """Non-2xx statuses a step's requests answer with that are answers to the shopper (sold out, declined),
    not errors: the statuses listed, and those a body match is limited to."""
    out: set[int] = set()
    for r in requests_of(step):
        out |= {*r.sold_out, *r.declined, *(c for m in (r.sold_out_if, r.declined_if) if m for c in m.status)}
    return out


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


class HttpSteps(Section):
    """The request (or requests) of each journey step."""

    product_page: Step = HttpStep(path="/products/{sku}")
    buy: Step = HttpStep(path="/products/{sku}/stock")
    create_order: Step = HttpStep(
        method="POST",
        path="/orders",
        headers={"Idempotency-Key": "{key}"},
        body={"sku": "{sku}", "user": "{user}"},
        field="order_id",
    )
    pay: Step = HttpStep(method="POST", path="/orders/{order}/pay", body={"accept": "{accept}"})

    @field_validator("product_page", "buy", "create_order", "pay")
    @classmethod
    def _not_empty(cls, step: Step) -> Step:
        if isinstance(step, list) and not step:
            raise ValueError("a step needs at least one request")
        return step

    @model_validator(mode="after")
    def _check(self) -> HttpSteps:
        if not any("order" in r.saves("order") for r in requests_of(self.create_order)):
            raise ValueError("create_order: give `field` (or `save: {order: PATH}`): the response's order id")
        return self


class Csrf(Section):
    """A CSRF token the target sets in a cookie and wants back in a header on every unsafe request."""

    cookie: str = "csrftoken"
    header: str = "X-CSRFToken"


class LoadTestMapping(Section):
    """How a load test replays the scenario's traffic against a real HTTP API."""

    waiting_room: HttpStep | None = HttpStep(method="POST", path="/queue/token", field="token")
    """Request for a waiting-room token before the journey; null if the target has no waiting room."""
    token_header: str = "X-Queue-Token"
    """Header carrying the waiting-room token on every journey request."""
    login: Step | None = None
    """Requests that log the shopper in after the waiting room (e.g. with user shopper-{shopper}); null:
    anonymous shoppers. The model has no login: its time is measured but not judged."""
    csrf: Csrf | None = None
    """Send a cookie's CSRF token back in a header on POST, PUT, PATCH and DELETE; null: none."""
    sku_ids: dict[str, str] = {}
    """The target's id of a SKU where it differs from the SKU's name: {sku} becomes it. Ids of SKUs the
    scenario does not sell are ignored: one mapping serves several scenarios."""
    steps: HttpSteps = HttpSteps()
    max_users: int = Field(5000, ge=1)
    """Most shoppers (Locust users) one run may start: a guard against pointing a full audience at a host."""

    @model_validator(mode="after")
    def _check(self) -> LoadTestMapping:
        if self.waiting_room is not None and self.waiting_room.field is None:
            raise ValueError("waiting_room.field: name the response's JSON field holding the token")
        known = set(PLACEHOLDERS) - set(SAVED)
        for where, request, value in self.requests():
            for name in sorted(request.placeholders() - known):
                listed = ", ".join(f"{{{p}}}" for p in sorted(known | set(SAVED)))
                raise ValueError(
                    f"{where}: placeholder {{{name}}} is not set before this request; use {listed}, "
                    "or a name an earlier request saves"
                )
            known |= set(request.saves(value))
        return self

    def requests(self) -> list[tuple[str, HttpStep, str | None]]:
        """Every request in the order a shopper sends them: (where, request, what its `field` holds)."""
        out: list[tuple[str, HttpStep, str | None]] = []
        if self.waiting_room is not None:
            out.append(("waiting_room", self.waiting_room, "token"))
        named = [("login", self.login), *((f"steps.{k}", getattr(self.steps, k)) for k in HttpSteps.model_fields)]
        for where, step in named:
            many = isinstance(step, list)
            value = "order" if where == "steps.create_order" else None
            out += [(f"{where}[{i}]" if many else where, r, value) for i, r in enumerate(requests_of(step))]
        return out


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
