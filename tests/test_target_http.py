"""The reference shop as a real server: the journey over HTTP, Server-Timing, several processes, SIGTERM."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import http


def timing(headers: dict) -> dict[str, float]:
    header = next(v for k, v in headers.items() if k.lower() == "server-timing")
    return {part.split(";")[0].strip(): float(part.split("dur=")[1]) for part in header.split(",")}


def test_the_journey_over_http_and_a_clean_stop(start_shop, tmp_path):
    db = tmp_path / "shop.sqlite"
    shop = start_shop(f"sqlite:///{db}", "--stock", "2", "--service", "buy=20ms", "--slots", "2")
    url = shop.url
    status, body, headers = http("POST", f"{url}/queue/token")
    assert status == 200 and len(body["token"]) >= 16
    status, body, headers = http("GET", f"{url}/products/phone")
    assert status == 200 and body["available"] == 2 and timing(headers)["app"] >= 0
    status, _, headers = http("GET", f"{url}/products/phone/stock")
    assert status == 200 and timing(headers)["app"] >= 20  # the added service time is spent in the app
    assert http("GET", f"{url}/products/nothing")[0] == 404
    assert http("POST", f"{url}/orders", {"sku": "phone", "user": "ann"})[0] == 400  # no idempotency key
    status, order, _ = http("POST", f"{url}/orders", {"sku": "phone", "user": "ann"}, {"Idempotency-Key": "a1"})
    assert status == 201 and order["state"] == "reserved"
    status, again, _ = http("POST", f"{url}/orders", {"sku": "phone", "user": "ann"}, {"Idempotency-Key": "a1"})
    assert status == 200 and again["order_id"] == order["order_id"]
    assert http("POST", f"{url}/orders", {"sku": "phone", "user": "ann"}, {"Idempotency-Key": "a2"})[0] == 429
    assert http("POST", f"{url}/orders/{order['order_id']}/pay", {"accept": False})[0] == 402
    assert http("POST", f"{url}/orders/{order['order_id']}/pay", {"accept": True})[:2] == (200, {"state": "paid"})
    assert http("POST", f"{url}/orders/nope/pay", {"accept": True})[0] == 404
    assert http("POST", f"{url}/orders", {"sku": "phone", "user": "bob"}, {"Idempotency-Key": "b1"})[0] == 201
    assert http("POST", f"{url}/orders", {"sku": "phone", "user": "cy"}, {"Idempotency-Key": "c1"})[0] == 409
    assert http("GET", f"{url}/products/phone/stock")[0] == 409
    assert http("POST", f"{url}/redpackets/rain/grab", {"user": "ann"})[0] == 200
    assert http("POST", f"{url}/redpackets/rain/grab", {"user": "ann"})[0] == 429
    assert shop.stats()["skus"]["phone"] == {"stock": 2, "available": 0, "reserved": 1, "paid": 1, "expired": 0}

    assert shop.stop() == 0  # SIGTERM: a graceful stop
    with sqlite3.connect(db) as kept:  # and what was committed is there
        assert dict(kept.execute("SELECT state, COUNT(*) FROM orders GROUP BY state")) == {"paid": 1, "reserved": 1}


def test_two_server_processes_sell_exactly_the_stock(start_shop, tmp_path):
    shop = start_shop(f"sqlite:///{tmp_path / 'shop.sqlite'}", "--stock", "25", workers=2)

    def buy(i: int) -> int:
        return http("POST", f"{shop.url}/orders", {"sku": "phone", "user": f"u{i}"}, {"Idempotency-Key": f"k{i}"},
                    timeout=30)[0]

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(buy, range(200)))
    assert statuses.count(201) == 25 and statuses.count(409) == 175
    assert shop.stats()["skus"]["phone"]["available"] == 0


def test_bad_options_exit_2_with_a_message(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "loadtests.target", "--service", "buy=fast"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--service 'buy=fast'" in out.stderr and "Traceback" not in out.stderr
