"""The reference shop as a real server on 127.0.0.1: the journey over HTTP, Server-Timing, slots, expiry,
several server processes, and a clean stop on SIGTERM that keeps what was committed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import http

pytestmark = pytest.mark.slow  # real server processes and load tests: the slow tier


def timing(headers: dict) -> dict[str, float]:
    """Server-Timing's metrics in milliseconds, e.g. {"wait": 0.01, "app": 20.3}."""
    header = next(v for k, v in headers.items() if k.lower() == "server-timing")
    out = {}
    for metric in header.split(","):
        name, *params = metric.strip().split(";")
        key, _, value = params[0].partition("=")
        assert key == "dur", header
        out[name] = float(value)
        if name == "cpu":  # the serving process's CPU so far, its pid the description
            key, _, value = params[1].partition("=")
            assert key == "desc" and value.strip('"').isdigit(), header
    return out


def test_the_journey_over_http_and_a_clean_stop(start_shop, tmp_path):
    db = tmp_path / "shop.sqlite"
    shop = start_shop(f"sqlite:///{db}", "--stock", "2", "--service", "buy=20ms", "--slots", "2")
    url = shop.url
    answers = []  # every answer's headers, to check Server-Timing on all of them

    def call(method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
        status, data, head = http(method, f"{url}{path}", body, headers)
        answers.append((path, head))
        return status, data

    assert call("GET", "/health") == (200, {"ok": True})
    status, body = call("POST", "/queue/token")
    assert status == 200 and len(body["token"]) >= 16
    assert call("GET", "/products/phone") == (200, {"sku": "phone", "price": 1699.0, "available": 2})
    assert call("GET", "/products/nothing") == (404, {"error": "unknown sku"})
    assert call("GET", "/products/phone/stock") == (200, {"available": 2})
    assert timing(answers[-1][1])["app"] >= 20  # the added service time is spent in the app
    assert call("GET", "/products/nothing/stock")[0] == 404

    assert call("POST", "/orders", {"sku": "phone", "user": "ann"})[0] == 400  # no Idempotency-Key
    assert call("POST", "/orders", ["phone"], {"Idempotency-Key": "a0"})[0] == 400  # not a JSON object
    assert call("POST", "/orders", {"sku": "phone"}, {"Idempotency-Key": "a0"})[0] == 400  # no user
    status, order = call("POST", "/orders", {"sku": "phone", "user": "ann"}, {"Idempotency-Key": "a1"})
    assert status == 201 and order["state"] == "reserved" and order["expires_at"] > time.time() + 800
    assert {"order_id", "sku", "user", "state", "expires_at"} == set(order)
    assert call("POST", "/orders", {"sku": "phone", "user": "ann"}, {"Idempotency-Key": "a1"}) == (200, order)
    limited = (429, {"error": "limit"})
    assert call("POST", "/orders", {"sku": "phone", "user": "ann"}, {"Idempotency-Key": "a2"}) == limited
    pay = f"/orders/{order['order_id']}/pay"
    assert call("POST", pay, {})[0] == 400
    assert call("POST", pay, {"accept": False}) == (402, {"state": "declined"})
    assert call("POST", pay, {"accept": True}) == (200, {"state": "paid"})
    assert call("POST", pay, {"accept": True}) == (200, {"state": "paid"})  # paying twice charges once
    assert call("POST", "/orders/nope/pay", {"accept": True})[0] == 404
    assert call("POST", "/orders", {"sku": "phone", "user": "bob"}, {"Idempotency-Key": "b1"})[0] == 201
    sold_out = (409, {"error": "sold_out"})
    assert call("POST", "/orders", {"sku": "phone", "user": "cy"}, {"Idempotency-Key": "c1"}) == sold_out
    assert call("GET", "/products/phone/stock") == sold_out

    status, body = call("POST", "/redpackets/rain/grab", {"user": "ann"})
    assert status == 200 and 0.01 <= body["amount"] <= 10_000 and round(body["amount"], 2) == body["amount"]
    assert call("POST", "/redpackets/rain/grab", {"user": "ann"}) == (429, {"error": "cap"})
    assert call("POST", "/redpackets/drizzle/grab", {"user": "ann"})[0] == 404
    assert call("POST", "/redpackets/rain/grab", {})[0] == 400
    assert call("GET", "/no/such/page")[0] == 404
    assert call("DELETE", "/orders")[0] == 405

    status, stats = call("GET", "/admin/stats")
    assert stats["skus"] == {"phone": {"stock": 2, "available": 0, "reserved": 1, "paid": 1, "expired": 0}}
    assert stats["orders"] == {"reserved": 1, "paid": 1, "expired": 0}
    assert stats["rains"]["rain"]["grabbed"] == 1 and stats["rains"]["rain"]["amount"] == body["amount"]
    for path, headers in answers:
        metrics = timing(headers)
        expected = {"wait", "app", "store", "store_wait", "db", "cpu", "pace"}
        assert {"wait", "app", "cpu", "pace"} <= metrics.keys() <= expected, path
        assert min(metrics.values()) >= 0, path
        # the store's time is spent holding the slot, and its queue for the connection is part of it
        assert metrics.get("store", 0) <= metrics["app"] + 0.01 and metrics.get("store_wait", 0) <= metrics.get(
            "store", 0
        )
    assert max(timing(headers)["pace"] for _, headers in answers) > 0  # the reference work, timed on the core
    cpu = [timing(headers)["cpu"] for _, headers in answers]  # one process: its CPU time never goes back
    assert cpu == sorted(cpu) and cpu[-1] > cpu[0]
    store_paths = [path for path, headers in answers if "store" in timing(headers)]
    assert {"/products/phone", "/orders", "/products/phone/stock"} <= set(store_paths)
    for _, headers in answers:  # SQLite: queued for its thread, then the thread's work, within the store's time
        metrics = timing(headers)
        if "store" in metrics:
            assert metrics["store_wait"] + metrics["db"] <= metrics["store"] + 0.01, metrics

    assert shop.stop() == 0  # SIGTERM: a graceful stop
    with sqlite3.connect(db) as kept:  # and what was committed is in the file
        assert dict(kept.execute("SELECT state, COUNT(*) FROM orders GROUP BY state")) == {"paid": 1, "reserved": 1}
        assert kept.execute("SELECT available FROM skus WHERE sku = 'phone'").fetchone() == (0,)


def test_an_unpaid_order_expires_and_its_unit_is_sold_again(start_shop, tmp_path):
    shop = start_shop(f"sqlite:///{tmp_path / 'shop.sqlite'}", "--stock", "1", "--payment-window", "300ms")
    status, order, _ = http("POST", f"{shop.url}/orders", {"sku": "phone", "user": "ann"}, {"Idempotency-Key": "a"})
    assert status == 201
    assert http("POST", f"{shop.url}/orders", {"sku": "phone", "user": "bob"}, {"Idempotency-Key": "b"})[0] == 409
    time.sleep(0.5)
    assert http("POST", f"{shop.url}/orders", {"sku": "phone", "user": "bob"}, {"Idempotency-Key": "b2"})[0] == 201
    paid = http("POST", f"{shop.url}/orders/{order['order_id']}/pay", {"accept": True})
    assert paid[:2] == (410, {"state": "expired"})
    assert shop.stats()["skus"]["phone"] == {"stock": 1, "available": 0, "reserved": 1, "paid": 0, "expired": 1}


def test_requests_beyond_the_slots_wait_their_turn(start_shop, tmp_path):
    shop = start_shop(f"sqlite:///{tmp_path / 'shop.sqlite'}", "--slots", "2", "--service", "buy=100ms")

    def check(_: int) -> dict[str, float]:
        status, _, headers = http("GET", f"{shop.url}/products/phone/stock")
        assert status == 200
        return timing(headers)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=6) as pool:
        metrics = list(pool.map(check, range(6)))
    elapsed = time.perf_counter() - started
    # 6 requests on 2 slots of 100 ms: three rounds, waits of about 0, 0, 100, 100, 200, 200 ms
    assert elapsed >= 0.29
    assert all(100 <= m["app"] < 1000 for m in metrics)
    waits = sorted(m["wait"] for m in metrics)
    assert waits[-1] >= 150 and sum(waits) >= 400


def test_two_server_processes_sell_exactly_the_stock_and_stop_cleanly(start_shop, tmp_path):
    db = tmp_path / "shop.sqlite"
    shop = start_shop(f"sqlite:///{db}", "--stock", "25", workers=2)

    def buy(i: int) -> int:
        return http(
            "POST", f"{shop.url}/orders", {"sku": "phone", "user": f"u{i}"}, {"Idempotency-Key": f"k{i}"}, timeout=30
        )[0]

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(buy, range(200)))
    assert statuses.count(201) == 25 and statuses.count(409) == 175
    assert shop.stats()["skus"]["phone"] == {"stock": 25, "available": 0, "reserved": 25, "paid": 0, "expired": 0}
    assert shop.stop() == 0
    with sqlite3.connect(db) as kept:
        assert kept.execute("SELECT COUNT(*), COUNT(DISTINCT user) FROM orders").fetchone() == (25, 25)


def test_bad_options_exit_2_with_a_message():
    out = subprocess.run(
        [sys.executable, "-m", "loadtests.target", "--service", "buy=fast"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "buy=fast" in out.stderr and "Traceback" not in out.stderr


def test_flashsim_target_speaks_the_cli_of_the_other_commands():
    from click.testing import CliRunner

    from simulator.cli import main

    runner = CliRunner()
    shown = runner.invoke(main, ["target", "--help"], prog_name="flashsim")
    assert shown.exit_code == 0 and shown.output.startswith("Usage: flashsim target [OPTIONS]")
    for args, says in ((["--service", "buy=fast"], "buy=fast"), (["--workers", "0"], "--workers"),
                       (["--scenario", "nope.yaml"], "nope.yaml"), (["--port", "99999"], "--port"),
                       (["--store", "sqlite:////proc/flashsim/shop.sqlite"], "cannot open it"),
                       (["--store", "redis://127.0.0.1:9/0"], "cannot open it")):  # fmt: skip
        refused = runner.invoke(main, ["target", *args])
        assert refused.exit_code == 2 and says in refused.output and "Traceback" not in refused.output, args


def test_page_items_render_an_html_product_page_and_a_negative_count_exits_2(start_shop, tmp_path):
    from loadtests.target.app import render_page

    page = render_page({"sku": "phone<1>", "available": 3}, 40)
    assert page.count("<li>") == 40 and "phone&lt;1&gt;" in page and "phone<1>" not in page
    shop = start_shop(f"sqlite:///{tmp_path / 'shop.sqlite'}", "--page-items", "25")
    with urllib.request.urlopen(f"{shop.url}/products/phone", timeout=10) as answer:
        body = answer.read().decode()
        assert answer.headers["content-type"].startswith("text/html") and body.count("<li>") == 25
        assert "cpu" in timing(dict(answer.headers))
    out = subprocess.run(
        [sys.executable, "-m", "loadtests.target", "--page-items", "-1"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "page_items -1" in out.stderr and "Traceback" not in out.stderr


def test_a_held_write_keeps_sqlites_write_lock_so_processes_take_turns(start_shop, tmp_path):
    # two processes, each its own connection: 6 orders held 100 ms in their write take turns on SQLite's write
    # lock (the hot row), 0.6 s in all, and each answer counts its hold in the store's time
    shop = start_shop(f"sqlite:///{tmp_path / 'shop.sqlite'}", "--hold", "create_order=100ms", workers=2)

    def order(i: int) -> dict[str, float]:
        status, _, headers = http(
            "POST", f"{shop.url}/orders", {"sku": "phone", "user": f"u{i}"}, {"Idempotency-Key": f"k{i}"}, timeout=30
        )
        assert status == 201
        return timing(headers)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=6) as pool:
        metrics = list(pool.map(order, range(6)))
    assert time.perf_counter() - started >= 0.59
    assert all(m["db"] >= 100 for m in metrics)
    status, _, headers = http("GET", f"{shop.url}/products/phone/stock")
    assert status == 200 and timing(headers)["db"] < 100  # the stock check holds nothing more


def test_a_hold_outside_sqlite_or_on_no_endpoint_exits_2_naming_it():
    for args, message in (
        (["--hold", "buy=10ms", "--store", "redis://127.0.0.1:1/0"], "SQLite only"),
        (["--hold", "checkout=10ms"], "hold 'checkout': no such endpoint"),
        (["--hold", "buy"], "--hold 'buy': use ENDPOINT=DIST"),
    ):
        command = [sys.executable, "-m", "loadtests.target", *args]
        out = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr, (args, out.stderr)


def test_a_hostile_body_gets_400_or_413_never_500_and_nothing_is_stored(start_shop, tmp_path):
    shop = start_shop(f"sqlite:///{tmp_path / 'shop.sqlite'}", "--stock", "5")
    key = {"Idempotency-Key": "k-1"}
    nested = "[" * 100_000 + "]" * 100_000
    request = urllib.request.Request(f"{shop.url}/orders", data=nested.encode(), method="POST",
                                     headers={"Content-Type": "application/json", **key})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as deep:
        urllib.request.urlopen(request, timeout=10)
    assert deep.value.code in (400, 413)
    huge = {"sku": "phone", "user": "u" * 20_000}
    assert http("POST", f"{shop.url}/orders", huge, key)[0] == 413
    assert http("POST", f"{shop.url}/orders", {"sku": "phone", "user": "u" * 300}, key)[0] == 400
    nested_small = {"sku": "phone", "user": "bob", "extra": json.loads("[" * 50 + "]" * 50)}
    assert http("POST", f"{shop.url}/orders", nested_small, {"Idempotency-Key": "k-2"})[0] == 201  # ignored field
    assert shop.stats()["skus"]["phone"]["reserved"] == 1  # only the good order


def test_fuzzed_requests_never_get_a_500_and_the_stock_is_conserved(start_shop, tmp_path):
    """Hypothesis sends the shop requests of every shape (methods, paths, headers, bodies JSON or not, valid
    orders among them); not one answer is a 500, and the stock holds: reserved + paid + available = stock."""
    from urllib.parse import quote

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    shop = start_shop(f"sqlite:///{tmp_path / 'shop.sqlite'}", "--stock", "30")
    text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
    ascii_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
    json_value = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=12,
    )
    good_order = st.fixed_dictionaries({"sku": st.just("phone"), "user": st.sampled_from(["ann", "bob", "cy"])})
    body = st.one_of(
        st.none(),
        good_order.map(lambda b: json.dumps(b).encode()),
        st.dictionaries(st.sampled_from(["sku", "user", "accept", "x"]), json_value, max_size=4).map(
            lambda b: json.dumps(b).encode()
        ),
        json_value.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=200),
    )
    paths = st.one_of(
        st.sampled_from(
            ["/health", "/admin/stats", "/queue/token", "/orders", "/products/phone", "/products/phone/stock"]
        ),  # fmt: skip
        text.map(lambda s: f"/products/{quote(s, safe='')}"),
        text.map(lambda s: f"/orders/{quote(s, safe='')}/pay"),
        text.map(lambda s: f"/redpackets/{quote(s, safe='')}/grab"),
    )
    answers: list[int] = []

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.sampled_from(["GET", "POST", "PUT", "DELETE"]), paths, body, st.none() | ascii_text)
    def send(method: str, path: str, data: bytes | None, key: str | None) -> None:
        headers = {"Content-Type": "application/json"} | ({"Idempotency-Key": key} if key is not None else {})
        request = urllib.request.Request(shop.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answers.append(answer.status)
        except urllib.error.HTTPError as exc:
            answers.append(exc.code)
            assert exc.code < 500, (method, path, data, key, exc.read()[:200])

    send()
    assert len(answers) >= 300 and any(a < 300 for a in answers)
    sku = shop.stats()["skus"]["phone"]
    assert sku["reserved"] + sku["paid"] + sku["available"] == sku["stock"] == 30


def test_a_restart_without_fresh_says_it_keeps_the_stores_own_stock(start_shop, tmp_path):
    store = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    start_shop(store, "--stock", "5").stop()
    again = start_shop(store, "--stock", "9", fresh=False)
    assert again.stats()["skus"]["phone"]["stock"] == 5  # kept, as documented
    again.stop()
    said = again.process.stdout.read()
    assert "the store keeps phone at its stock of 5 (asked 9); --fresh starts anew" in said, said
