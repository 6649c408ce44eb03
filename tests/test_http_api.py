"""The loadtest section: journey steps as HTTP requests, with placeholders."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from click.testing import CliRunner

from simulator import load_scenario
from simulator.cli import main
from simulator.scenario.loadtest import BodyMatch, fill, read_path, requests_of

THURSDAY = "scenarios/xiaomi-thursday-flash.yaml"


def test_defaults_walk_the_reference_shop():
    steps = load_scenario(THURSDAY).loadtest.steps
    assert steps.create_order.method == "POST" and steps.create_order.field == "order_id"
    assert fill(steps.pay.path, {"order": "o-1"}) == "/orders/o-1/pay"


def test_a_whole_placeholder_keeps_its_type_and_partial_ones_become_text():
    body = {"accept": "{accept}", "note": "user {user}", "items": ["{sku}"]}
    assert fill(body, {"accept": False, "user": 7, "sku": "phone"}) == {
        "accept": False,
        "note": "user 7",
        "items": ["phone"],
    }


def problems(tmp_path, mapping: str) -> list[str]:
    """`flashsim check` on the Thursday flash with this loadtest section appended: its problem lines (exit 2)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(open(THURSDAY).read() + mapping)
    out = CliRunner().invoke(main, ["check", str(bad)])
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output
    return out.output.strip().splitlines()


N = len(open(THURSDAY).read().splitlines())


def test_unknown_placeholder_and_bad_path_are_reported_with_their_line(tmp_path):
    lines = problems(tmp_path, "loadtest:\n  steps:\n    buy: {path: '/stock/{item}'}\n")
    assert any(f"bad.yaml:{N + 3}: loadtest.steps.buy" in line and "{item}" in line for line in lines), lines
    lines = problems(tmp_path, "loadtest:\n  steps:\n    pay: {path: 'orders/pay'}\n")
    assert any(f"bad.yaml:{N + 3}: loadtest.steps.pay.path" in line and "must start with /" in line for line in lines)


def test_a_step_of_several_requests_uses_what_an_earlier_one_saved(tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(open("loadtests/oscar/mapping.yaml").read())
    scenario = load_scenario(THURSDAY, overlays=[mapping])
    steps = scenario.loadtest.steps
    assert [r.name for r in requests_of(steps.create_order)] == ["basket", "checkout"]
    assert requests_of(steps.create_order)[1].saves("order") == {"order": "number", "payment": "payment_url"}
    assert scenario.loadtest.sku_ids["flagship-phone"] == "1"


def test_a_placeholder_used_before_a_request_saves_it_is_refused(tmp_path):
    lines = problems(
        tmp_path,
        "loadtest:\n  steps:\n    create_order:\n"
        "      - {method: POST, path: '/checkout/{basket}', field: number}\n"
        "      - {method: POST, path: /basket, save: {basket: url}}\n",
    )
    assert any("loadtest.steps.create_order[0]" in line and "{basket}" in line for line in lines), lines


def test_status_lists_field_paths_and_body_matches_are_checked(tmp_path):
    lines = problems(tmp_path, "loadtest:\n  steps:\n    buy: {path: /stock, sold_out: [gone]}\n")
    assert any(f"bad.yaml:{N + 3}: loadtest.steps.buy.sold_out" in line for line in lines), lines
    lines = problems(tmp_path, "loadtest:\n  steps:\n    buy: {path: /stock, sold_out: [999]}\n")
    assert any("not HTTP status codes" in line for line in lines), lines
    lines = problems(tmp_path, "loadtest:\n  steps:\n    buy: {path: /stock, save: {x: 'lines[0'}}\n")
    assert any("is not a field path" in line for line in lines), lines
    lines = problems(tmp_path, "loadtest:\n  steps:\n    buy: {path: /stock, sold_out_if: {contains: x, field: y}}\n")
    assert any("either field (with equals) or contains" in line for line in lines), lines
    lines = problems(tmp_path, "loadtest:\n  steps:\n    checkout: {path: /checkout}\n")
    assert any("loadtest.steps.checkout: unknown field" in line for line in lines), lines
    lines = problems(tmp_path, "loadtest:\n  steps:\n    create_order: {method: POST, path: /orders}\n")
    assert any("create_order: give `field`" in line for line in lines), lines


def test_field_paths_step_into_objects_and_lists():
    data = {"basket": {"lines": [{"product": "/p/1"}, {"product": "/p/2"}]}, "0": "zero"}
    assert read_path(data, "basket.lines[1].product") == (True, "/p/2")
    assert read_path(data, "basket.lines.0.product") == (True, "/p/1")
    assert read_path(data, "basket.lines[2].product") == (False, None)
    assert read_path(data, "0") == (True, "zero")
    assert read_path([{"id": 3}], "0.id") == (True, 3)


def test_a_body_match_reads_a_field_or_a_text_for_the_statuses_given():
    by_field = BodyMatch(field="is_available_to_buy", equals=False)
    assert by_field.matches(200, {"is_available_to_buy": False}, "")
    assert not by_field.matches(200, {"is_available_to_buy": True}, "")
    assert not by_field.matches(200, None, "not json")
    by_text = BodyMatch(status=[406], contains="available")
    assert by_text.matches(406, None, '{"reason": "Unavailable"}')
    assert not by_text.matches(400, None, '{"reason": "Unavailable"}')


def test_a_bad_mapping_stops_loadtest_before_any_request(tmp_path):
    hits = []

    class Count(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_POST = do_GET

    server = HTTPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    overlay = tmp_path / "mapping.yaml"
    overlay.write_text("loadtest.steps.pay: {method: POST, path: '/pay/{receipt}'}\n")
    try:
        out = CliRunner().invoke(
            main,
            ["loadtest", THURSDAY, "--host", f"http://127.0.0.1:{server.server_port}", "--overlay", str(overlay)]
            + ["--run-time", "5s", "--out", str(tmp_path / "run")],
        )
    finally:
        server.shutdown()
    assert out.exit_code == 2, out.output
    assert "mapping.yaml:1: loadtest.steps.pay" in out.output and "{receipt}" in out.output
    assert hits == [] and not (tmp_path / "run").exists()
