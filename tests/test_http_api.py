"""The loadtest section: journey steps as HTTP requests, with placeholders."""

from click.testing import CliRunner

from simulator import load_scenario
from simulator.cli import main
from simulator.scenario.loadtest import fill

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


def test_unknown_placeholder_and_bad_path_are_reported_with_their_line(tmp_path):
    text = open(THURSDAY).read() + (
        "loadtest:\n  steps:\n    buy: {path: '/stock/{item}'}\n    pay: {path: 'orders/pay'}\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    out = CliRunner().invoke(main, ["check", str(bad)])
    assert out.exit_code == 2, out.output
    lines = out.output.strip().splitlines()
    n = len(open(THURSDAY).read().splitlines())
    assert any(f"bad.yaml:{n + 3}: loadtest.steps.buy" in line and "{item}" in line for line in lines), lines
    assert any(f"bad.yaml:{n + 4}: loadtest.steps.pay" in line and "must start with /" in line for line in lines), lines
    assert "Traceback" not in out.output
