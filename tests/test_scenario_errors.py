"""Bad scenario input fails cleanly: `file:line: path: message` per problem, exit 2, nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.scenario.loader import ScenarioError, load_scenario
from simulator.scenario.promotion import Scenario

ROOT = Path(__file__).resolve().parent.parent
STEADY = ROOT / "scenarios" / "steady-state.yaml"
XIAOMI = ROOT / "scenarios" / "xiaomi-thursday-flash.yaml"
BASE = STEADY.read_text(encoding="utf-8")


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the base scenario"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based line of the single line containing `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def check(path: Path, *args: str):
    result = CliRunner().invoke(main, ["check", str(path), *args])
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def problem_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


# Each case: (id, YAML text, needle locating the offending line, dotted path, message regex)
CASES = [
    (
        "unknown-field",
        edit("      workers: 12", "      workrs: 12"),
        "workrs",
        "system.pools.web.workrs",
        r"unknown field; did you mean 'workers'\?",
    ),
    ("wrong-unit", edit("horizon: 2h", "horizon: 15x"), "horizon:", "clock.horizon", r"'15x' is not a duration"),
    ("negative-stock", edit("stock: 1", "stock: -5"), "stock:", "inventory.skus.item.stock", r"must not be negative"),
    (
        "probability-above-1",
        edit("buy: 0", "buy: 1.5"),
        "buy:",
        "audience.behaviour.funnel.buy",
        r"less than or equal to 1",
    ),
    (
        "percentage-above-100",
        edit("buy: 0", "buy: '150%'"),
        "buy:",
        "audience.behaviour.funnel.buy",
        r"less than or equal to 1",
    ),
    (
        "segment-shares",
        edit("  size: 72k", "  size: 72k\n  segments:\n    member: {share: 0.5}\n    guest: {share: 0.3}"),
        "member:",
        "audience.segments",
        r"shares sum to 0\.8; they must sum to 1",
    ),
    (
        "sale-outside-horizon",
        edit('open: "+0s"', 'open: "+3h"'),
        "open:",
        "sales[0].open",
        r"3h after start is outside the horizon \(0 to 2h\)",
    ),
    (
        "sale-sku-not-in-inventory",
        edit("sku: item", "sku: itme"),
        "sku: itme",
        "sales[0].sku",
        r"no sku 'itme' in inventory\.skus",
    ),
    (
        "endpoint-pool-missing",
        edit("pool: web", "pool: db"),
        "pool: db",
        "system.endpoints.product_page.pool",
        r"no pool named 'db'; pools are \['web'\]",
    ),
    ("missing-required", edit("  horizon: 2h\n", ""), 'start: "00:00"', "clock.horizon", r"missing \(required\)"),
    ("duplicate-key", edit("seed: 7\n", "seed: 7\nreplications: 2\nseed: 8\n"), "seed: 8", "seed", r"duplicate key"),
    (
        "distribution-arity",
        edit("exp(1s)", "lognormal(30ms)"),
        "service:",
        "system.endpoints.product_page.service",
        r"lognormal takes 2 arguments",
    ),
    (
        "distribution-unknown",
        edit("exp(1s)", "weibull(1s)"),
        "service:",
        "system.endpoints.product_page.service",
        r"unknown distribution 'weibull'",
    ),
    (
        "plan-overlay",
        BASE + "plans:\n  big:\n    set:\n      system.pools.web.workers: -1\n",
        "system.pools.web.workers: -1",
        "system.pools.web.workers",
        r"greater than or equal to 1",
    ),
    (
        "target-for-missing-endpoint",
        edit("    product_page:\n      p99: 10s", "    pay:\n      p99: 10s"),
        "p99:",
        "targets.latency.pay",
        r"no endpoint 'pay'",
    ),  # a mapping is located at its first key
    (
        "discount-over-price",
        edit("    price: 1\n", "    price: 1\n    discount: 5\n"),
        "- name: steady",
        "sales[0]",
        r"discount 5 exceeds price 1",
    ),
    (
        "incident-unknown-pool",
        BASE + "incidents:\n  down:\n    pool: db\n    at: '+1m'\n    lasts: 1m\n    lose: 1\n",
        "pool: db",
        "incidents.down.pool",
        r"no pool 'db' in system.pools",
    ),
    (
        "incident-two-effects",
        BASE + "incidents:\n  down:\n    at: '+1m'\n    lasts: 1m\n    pool: web\n    lose: 1\n    slow: 2\n",
        "at: '+1m'",
        "incidents.down",
        r"give exactly one effect of lose, slow, fail; got lose, slow",
    ),
    (
        "incident-half-timed",
        BASE + "incidents:\n  down:\n    every: exp(1h)\n    lasts: 1m\n    pool: web\n    fail: 0.5\n",
        "every: exp(1h)",
        "incidents.down",
        r"give at and lasts \(a fixed time\), on and lasts \(a signal\) or every and repair \(at random\)",
    ),
    (
        "incident-signal-of-an-unknown-pool",
        BASE + "incidents:\n  down:\n    on: {queue: {pool: db, above: 10}}\n    lasts: 1m\n    pool: web\n"
        "    lose: 1\n",
        "on: {queue",
        "incidents.down.on",
        r"no pool 'db' in system.pools",
    ),
    (
        "incident-workers-of-an-endpoint",
        BASE + "incidents:\n  down:\n    at: '+1m'\n    lasts: 1m\n    endpoint: product_page\n    lose: 1\n",
        "lose: 1",
        "incidents.down.lose",
        r"workers belong to a pool; give pool, not endpoint",
    ),
    (
        "live-stream-unknown-sale",
        BASE + "live_streams:\n  evening:\n    viewers: {'00:10': 0, '00:20': 1000}\n    drops:\n"
        "      - {at: '00:15', sale: phone, share: 10%}\n",
        "sale: phone",
        "live_streams.evening.drops[0].sale",
        r"no sale named 'phone'; sales are \['steady'\]",
    ),
    (
        "live-stream-drop-off-air",
        BASE + "live_streams:\n  evening:\n    viewers: {'00:10': 0, '00:20': 1000}\n    drops:\n"
        "      - {at: '00:25', sale: steady, share: 10%}\n",
        "at: '00:25'",
        "live_streams.evening.drops[0].at",
        r"outside the stream",
    ),
    (
        "live-stream-one-point",
        BASE + "live_streams:\n  evening:\n    viewers: {'00:10': 1000}\n    drops:\n"
        "      - {at: '00:10', sale: steady, share: 10%}\n",
        "viewers:",
        "live_streams.evening.viewers",
        r"give at least two times",
    ),
    (
        "warehouse-followed-too-short",
        BASE
        + "fulfilment:\n  picks_per_hour: 20\n  until: 1h\n  roster:\n    - {name: day, start: '08:00', end: '20:00', "
        "staff: 3}\n",
        "until: 1h",
        "fulfilment.until",
        r"before the clock's horizon",
    ),
    (
        "warehouse-shift-bad-time",
        BASE
        + "fulfilment:\n  picks_per_hour: 20\n  roster:\n    - {name: day, start: '25:00', end: '20:00', staff: 3}\n",
        "name: day",
        "fulfilment.roster[0].start",
        r"25:00",
    ),
    (
        "tiers-not-rising",
        BASE + "pricing:\n  tiers:\n    steps:\n      - {spend: 5000, off: 700}\n      - {spend: 3000, off: 300}\n",
        "{spend: 3000",
        "pricing.tiers.steps[1].spend",
        r"steps must rise in spend",
    ),
    (
        "tier-unknown-sale",
        BASE + "pricing:\n  tiers:\n    sales: [phones]\n    steps: [{spend: 3000, off: 300}]\n",
        "sales: [phones]",
        "pricing.tiers.sales",
        r"no sale named 'phones'",
    ),
    (
        "coupon-budget-below-face",
        BASE + "pricing:\n  coupons:\n    ten:\n      off: 10\n      budget: 5\n      claimers: 50%\n",
        "budget: 5",
        "pricing.coupons.ten.budget",
        r"5 is less than one coupon's face value 10",
    ),
    (
        "coupon-stack-zero",
        BASE + "pricing:\n  stack: 0\n",
        "stack: 0",
        "pricing.stack",
        r"greater than or equal to 1",
    ),
    (
        "add-on-without-presale",
        BASE + "pricing:\n  coupons:\n    add-on:\n      off: 200\n      budget: 10k\n      presale: true\n",
        "presale: true",
        "pricing.coupons.add-on.presale",
        r"no presale",
    ),
    ("bare-dot-scalar", edit("seed: 7", "seed: ."), "seed:", "seed", r"valid integer"),
    ("negative-seed", edit("seed: 7", "seed: -1"), "seed:", "seed", r"greater than or equal to 0"),
    ("century-horizon", edit("horizon: 2h", "horizon: 876000h"), "horizon:", "clock.horizon", r"at most a month"),
    (
        "trillion-shoppers",
        edit("size: 72k", "size: 1000000M"),
        "size: 1000000M",
        "audience.size",
        r"less than or equal to",
    ),
    ("recursive-alias", BASE + "extra: &a [*a]\n", "extra: &a", "extra[0]", r"alias refers to a node that contains it"),
]


@pytest.mark.parametrize(("text", "needle", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_field_is_reported_at_its_line_and_path(tmp_path, text, needle, path, message):
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    result = check(file)
    assert result.exit_code == 2, result.output
    lines = problem_lines(result)
    expected = f"{file}:{line_of(text, needle)}: {path}: "
    matching = [line for line in lines if line.startswith(expected)]
    assert matching, f"no line starting {expected!r} in {lines}"
    assert re.search(message, matching[0]), matching[0]
    # every problem is one `file:line: ...` line (none wrapped, none bare)
    assert all(re.match(rf"{re.escape(str(file))}:\d+: ", line) for line in lines), lines


def test_unknown_field_without_close_match_lists_the_known_ones(tmp_path):
    file = tmp_path / "bad.yaml"
    file.write_text(BASE + "zzzzqq: 1\n", encoding="utf-8")
    [line] = problem_lines(check(file))
    where = f"{file}:{line_of(BASE + 'zzzzqq: 1', 'zzzzqq')}"
    assert line.startswith(f"{where}: zzzzqq: unknown field; expected one of:")
    assert "clock" in line and "inventory" in line


def test_two_problems_are_both_reported_with_their_lines(tmp_path):
    text = edit("stock: 1", "stock: -5", edit("horizon: 2h", "horizon: 15x"))
    file = tmp_path / "two.yaml"
    file.write_text(text, encoding="utf-8")
    result = check(file)
    assert result.exit_code == 2
    lines = problem_lines(result)
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"{file}:{line_of(text, 'horizon:')}: clock.horizon: ")
    assert lines[1].startswith(f"{file}:{line_of(text, 'stock:')}: inventory.skus.item.stock: ")


def test_missing_file_names_the_file(tmp_path):
    file = tmp_path / "nope.yaml"
    result = check(file)
    assert result.exit_code == 2
    assert problem_lines(result) == [f"{file}: no such file"]


def test_yaml_syntax_error_gives_its_line(tmp_path):
    text = edit("      workers: 12", "      workers: [12")
    file = tmp_path / "syntax.yaml"
    file.write_text(text, encoding="utf-8")
    result = check(file)
    assert result.exit_code == 2
    [line] = problem_lines(result)
    # the parser notices the unclosed list at the next mapping key
    assert line.startswith(f"{file}:{line_of(text, 'endpoints:')}: not valid YAML: "), line


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"], ids=["empty", "comment", "blank"])
def test_empty_file_is_reported(tmp_path, text):
    file = tmp_path / "empty.yaml"
    file.write_text(text, encoding="utf-8")
    result = check(file)
    assert result.exit_code == 2
    assert problem_lines(result) == [f"{file}: the file is empty; a scenario is a YAML mapping"]


def test_list_instead_of_mapping_is_reported(tmp_path):
    file = tmp_path / "list.yaml"
    file.write_text("# a list\n- clock: {horizon: 1h}\n- seed: 1\n", encoding="utf-8")
    result = check(file)
    assert result.exit_code == 2
    assert problem_lines(result) == [f"{file}:2: a scenario is a YAML mapping of sections"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("seed: !!int abc\n", 1),
        ("a: 1\nseed: !!bool maybe\n", 2),
        ("a: 1\n\nb: !!timestamp nope\n", 3),
        ("a: 1\nb: !!float x\n", 2),
        ("a: !!python/object:os.system x\n", 1),
    ],
    ids=["int", "bool", "timestamp", "float", "python"],
)
def test_bad_explicit_tag_is_a_yaml_error_with_its_line(tmp_path, text, line):
    file = tmp_path / "tag.yaml"
    file.write_text(text, encoding="utf-8")
    result = check(file)
    assert result.exit_code == 2
    [out] = problem_lines(result)
    assert out.startswith(f"{file}:{line}: not valid YAML: "), out


def test_nesting_too_deep_is_bad_input_not_a_crash(tmp_path):
    file = tmp_path / "deep.yaml"
    file.write_text("a: " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    result = check(file)
    assert result.exit_code == 2
    assert problem_lines(result) == [f"{file}: not valid YAML: nested too deeply"]


def test_alias_bomb_is_refused(tmp_path):
    text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
    )
    file = tmp_path / "bomb.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert "values" in str(info.value)


def test_non_utf8_file_is_reported(tmp_path):
    file = tmp_path / "latin1.yaml"
    file.write_bytes(b"name: caf\xe9\n")
    result = check(file)
    assert result.exit_code == 2
    [line] = problem_lines(result)
    assert line.startswith(f"{file}: cannot read: ")


# -- --set --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("audience.size", r"^--set: 'audience\.size' is not PATH=VALUE"),
        ("=3", r"^--set: '=3' is not PATH=VALUE"),
        (".=3", r"^--set: '\.=3' is not PATH=VALUE"),
        ("nope.deep=1", r"^--set: nope: unknown field; expected one of: .*clock"),
        ("system.pools.web.workrs=3", r"^--set: system\.pools\.web\.workrs: unknown field; did you mean 'workers'\?"),
        ("sales[3].open=+1m", r"^--set: sales\[3\]: no item 3 in a list of 1"),
        ("system.pools.web.workers=-1", r"^--set: system\.pools\.web\.workers: .*greater than or equal to 1"),
        ("clock.horizon=15x", r"^--set: clock\.horizon: '15x' is not a duration"),
        ("seed=[1", r"^--set: seed: value is not YAML"),
        ("seed=!!int x", r"^--set: seed: value is not YAML"),
        ("seed=.", r"^--set: seed: .*valid integer"),
    ],
)
def test_bad_set_is_reported_against_set(arg, expected):
    result = check(STEADY, "--set", arg)
    assert result.exit_code == 2, result.output
    lines = problem_lines(result)
    assert any(re.search(expected, line) for line in lines), lines
    assert not any(line.startswith(str(STEADY)) for line in lines), lines


def test_set_is_applied():
    assert load_scenario(STEADY, ["system.pools.web.workers=20"]).system.pools["web"].workers == 20
    assert load_scenario(STEADY, ["sales[0].open=+10m"]).sales[0].open == 600.0
    assert load_scenario(STEADY, ["sales.0.open=+10m"]).sales[0].open == 600.0
    assert load_scenario(STEADY, ["audience.size=300k"]).audience.size == 300_000
    assert load_scenario(STEADY, ["audience.behaviour.funnel.buy=30%"]).audience.behaviour.funnel.buy == 0.3
    assert load_scenario(STEADY).system.pools["web"].workers == 12  # the file is not changed by an override


def test_set_is_validated_like_the_file():
    with pytest.raises(ScenarioError) as info:
        load_scenario(STEADY, ["audience.behaviour.funnel.buy=150%", "inventory.skus.item.stock=-1"])
    shown = [str(p) for p in info.value.problems]
    assert any(s.startswith("--set: audience.behaviour.funnel.buy: ") for s in shown), shown
    assert any(s.startswith("--set: inventory.skus.item.stock: ") for s in shown), shown


def test_check_with_good_set_succeeds():
    result = check(STEADY, "--set", "system.pools.web.workers=20")
    assert result.exit_code == 0, result.stderr
    assert "ok" in result.output


# -- plans -----------------------------------------------------------------------------------------------


def test_unknown_plan_is_reported():
    with pytest.raises(ScenarioError) as info:
        load_scenario(STEADY, plan="nope")
    [problem] = info.value.problems
    assert problem.where == str(STEADY) and problem.path == "plans"
    assert "no plan 'nope'" in problem.message


def test_plan_overlay_is_validated_when_chosen(tmp_path):
    text = BASE + "plans:\n  big:\n    description: more\n    set:\n      clock.horizon: 15x\n"
    file = tmp_path / "plans.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file, plan="big")
    where = f"{file}:{line_of(text, 'clock.horizon: 15x')}"
    assert str(info.value.problems[0]).startswith(f"{where}: clock.horizon: ")


def test_good_plan_is_applied(tmp_path):
    file = tmp_path / "plans.yaml"
    file.write_text(BASE + "plans:\n  big:\n    set:\n      system.pools.web.workers: 30\n", encoding="utf-8")
    assert load_scenario(file, plan="big").system.pools["web"].workers == 30
    assert load_scenario(file).system.pools["web"].workers == 12


# -- nothing written on bad input ------------------------------------------------------------------------


def test_run_on_bad_input_creates_no_directory(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(edit("stock: 1", "stock: -5"), encoding="utf-8")
    out = tmp_path / "runs" / "x"
    result = CliRunner().invoke(main, ["run", str(bad), "--out", str(out), "--no-figures"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_run_never_overwrites_an_existing_directory(tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "summary.json").write_text('{"keep": true}', encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(STEADY), "--out", str(out), "--no-figures"])
    assert result.exit_code == 2
    assert "not empty" in result.stderr
    assert [p.name for p in out.iterdir()] == ["summary.json"]
    assert (out / "summary.json").read_text(encoding="utf-8") == '{"keep": true}'


# -- schema ----------------------------------------------------------------------------------------------


def test_schema_is_json_with_sections_and_defaults():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    sections = {"clock", "audience", "sales", "system", "inventory", "targets", "plans"}
    assert sections <= set(schema["properties"])
    assert set(schema["required"]) >= {"clock", "audience", "sales", "system", "inventory"}
    retry = schema["$defs"]["Retry"]["properties"]
    assert retry["max_retries"]["default"] == 3
    assert "Retries" in retry["max_retries"]["description"]
    assert retry["backoff"]["type"] == ["string", "number"] and retry["backoff"]["default"] == 1.0


def test_valid_examples_load():
    for path in (STEADY, XIAOMI):
        assert isinstance(load_scenario(path), Scenario)
        assert check(path).exit_code in (0,)


# -- fuzz -----------------------------------------------------------------------------------------------

RAW = yaml.safe_load(BASE)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(RAW) if p]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "15x",
            "-1",
            "150%",
            "1e400",
            ".",
            "+.",
            "exp(0)",
            "lognormal(1s)",
            "weibull(1s)",
            "+99h",
            "25:00",
            "¥-3",
            "1,0,0",
            "!!int x",
            "[",
            "{",
            "*a",
            "&a",
            ":",
            "- x",
            "\t",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _get(node, path):
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated(draw):
    raw = yaml.safe_load(BASE)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS))
        try:
            parent = _get(raw, path[:-1])
        except (KeyError, IndexError, TypeError):
            continue
        op = draw(st.sampled_from(["replace", "delete", "junk"]))
        key = path[-1]
        if isinstance(parent, dict) and key in parent:
            if op == "replace":
                parent[key] = draw(scalars)
            elif op == "delete":
                del parent[key]
            else:
                parent[draw(st.text(min_size=1, max_size=8))] = draw(scalars)
        elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
            parent[key] = draw(scalars)
    text = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
    if draw(st.booleans()):  # corrupt the text itself
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(st.text(max_size=6)) + text[pos + draw(st.integers(0, 6)) :]
    return text


def _assert_clean(path: Path, overrides=()):
    try:
        result = load_scenario(path, list(overrides))
    except ScenarioError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert str(problem).startswith((str(path), "--set")), str(problem)
    else:
        assert isinstance(result, Scenario)


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@FUZZ
@given(text=mutated())
def test_fuzz_mutated_scenarios_fail_cleanly(tmp_path, text):
    file = tmp_path / "fuzz.yaml"
    file.write_text(text, encoding="utf-8")
    _assert_clean(file)


@FUZZ
@given(text=st.one_of(st.text(max_size=200), st.text(alphabet=" \n\t-:[]{}&*!|>'\"#%@`,?ab01.", max_size=120)))
def test_fuzz_random_text_fails_cleanly(tmp_path, text):
    file = tmp_path / "fuzz.yaml"
    file.write_text(text, encoding="utf-8")
    _assert_clean(file)


@FUZZ
@given(data=st.binary(max_size=200))
def test_fuzz_random_bytes_fail_cleanly(tmp_path, data):
    file = tmp_path / "fuzz.yaml"
    file.write_bytes(data)
    _assert_clean(file)


@FUZZ
@given(
    path=st.one_of(st.sampled_from([".".join(map(str, p)) for p in PATHS]), st.text(max_size=15)),
    value=st.one_of(st.text(max_size=15), st.sampled_from(["-1", "15x", "[", "!!int x", ".", "1e400"])),
)
def test_fuzz_set_fails_cleanly(path, value):
    _assert_clean(STEADY, [f"{path}={value}"])


def test_a_negative_seed_or_an_out_that_cannot_be_made_is_bad_input_and_leaves_nothing(tmp_path):
    runner = CliRunner()
    out = tmp_path / "run"
    negative = runner.invoke(main, ["run", str(STEADY), "--seed", "-1", "--out", str(out)])
    assert negative.exit_code == 2 and "-1" in negative.output and not out.exists()
    for where in ("/proc/flashsim-run", str(tmp_path / "file" / "run")):
        (tmp_path / "file").write_text("a file, not a directory")
        refused = runner.invoke(main, ["run", str(STEADY), "--set", "audience.size=100", "--out", where])
        assert refused.exit_code == 2 and f"--out {where}: cannot make the directory" in refused.output, where


def test_a_huge_file_is_refused_at_once_without_being_read(tmp_path):
    import time

    file = tmp_path / "huge.yaml"
    file.write_text(BASE + "# padding\n" * 700_000, encoding="utf-8")  # 7 MB
    began = time.monotonic()
    result = check(file)
    assert result.exit_code == 2 and "a scenario file is at most 5 MB" in result.output
    assert time.monotonic() - began < 2
