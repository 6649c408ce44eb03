"""Loading scenario files: YAML with line numbers, overrides, overlays and plans, and clear errors."""

from __future__ import annotations

import copy
import difflib
import json
import re
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from simulator import units
from simulator.scenario.promotion import Scenario
from simulator.scenario.scaling import grown
from simulator.scenario.section import GROWS, sections

Path_ = tuple[str | int, ...]


class Problem(BaseModel):
    """One thing wrong with a scenario, located as precisely as the input allows."""

    where: str
    """`file:line`, `file`, or `--set`."""
    path: str = ""
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.path}: {self.message}" if self.path else f"{self.where}: {self.message}"


class ScenarioError(Exception):
    """A scenario that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


class _Loader(yaml.SafeLoader):
    """YAML 1.2-like scalars: 20:00 stays a string (no base-60 ints), no yes/no booleans, no dates."""

    def construct_object(self, node, deep=False):
        # PyYAML's constructors raise plain ValueError, KeyError... on `!!int abc`: make those YAML errors.
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r} as {node.tag}: {exc}", node.start_mark
            ) from None


_Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("int", r"^[-+]?(?:0|[1-9][0-9_]*)$", "-+0123456789"),
    (
        "float",
        r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?$"
        r"|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"
        r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$",
        "-+0123456789.",
    ),
]:
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), list(_first))


def _construct(
    node: yaml.Node, loader: _Loader, path: Path_, lines: dict, file: str, open_: frozenset = frozenset()
) -> Any:
    """Build plain Python data from a YAML node, recording `file:line` of every path."""
    where = f"{file}:{node.start_mark.line + 1}"
    if id(node) in open_:
        raise ScenarioError(
            [Problem(where=where, path=_render(path), message="an alias refers to a node that contains it")]
        )
    if len(lines) >= _MAX_NODES:
        raise ScenarioError(
            [Problem(where=where, path=_render(path), message=f"more than {_MAX_NODES:,} values (aliases expanding?)")]
        )
    lines[path] = where
    inner = open_ | {id(node)}
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise ScenarioError(
                    [
                        Problem(
                            where=f"{file}:{key_node.start_mark.line + 1}",
                            path=_render(path),
                            message="keys must be plain names",
                        )
                    ]
                )
            key = str(key)
            if key in out:
                raise ScenarioError(
                    [
                        Problem(
                            where=f"{file}:{key_node.start_mark.line + 1}",
                            path=_render((*path, key)),
                            message="duplicate key",
                        )
                    ]
                )
            out[key] = _construct(value_node, loader, (*path, key), lines, file, inner)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, loader, (*path, i), lines, file, inner) for i, v in enumerate(node.value)]
    return loader.construct_object(node)


_MAX_NODES = 100_000
MAX_FILE = 5_000_000
"""The largest scenario file read (bytes): the library's biggest is 20 kB; a larger one is refused at once."""
"""More values than any scenario needs: a file of nested aliases must not expand without bound."""


def _render(path: Path_) -> str:
    """`sales[0].open` from ('sales', 0, 'open')."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]=]+)")


def _split(path: str) -> Path_:
    """('sales', 0, 'open') from `sales[0].open` or `sales.0.open`."""
    parts: list[str | int] = []
    for index, name in _PATH_PART.findall(path.strip()):
        if index:
            parts.append(int(index))
        else:
            parts.append(int(name) if name.isdecimal() else name)
    return tuple(parts)


def parse_assignment(text: str) -> tuple[Path_, Any]:
    """`path.to.field=value` (value read as YAML) from a `--set` argument."""
    path, sep, value = text.partition("=")
    if not sep or not _split(path):
        raise ScenarioError([Problem(where="--set", message=f"{text!r} is not PATH=VALUE, e.g. audience.size=300k")])
    try:
        parsed = yaml.load(value, Loader=_Loader) if value.strip() else None
    except (yaml.YAMLError, RecursionError) as exc:
        raise ScenarioError([Problem(where="--set", path=path, message=f"value is not YAML: {exc}")]) from None
    return _split(path), parsed


def _assign(raw: Any, path: Path_, value: Any, where: str) -> None:
    """Set one field in the raw scenario data, creating missing mappings on the way."""
    node = raw
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):
            if not isinstance(part, int) or not 0 <= part < len(node):
                raise ScenarioError(
                    [
                        Problem(
                            where=where,
                            path=_render(path[: depth + 1]),
                            message=f"no item {part!r} in a list of {len(node)}",
                        )
                    ]
                )
        elif isinstance(node, dict):
            part = str(part)
            if not last and not isinstance(node.get(part), dict | list):
                node[part] = {}
        else:
            raise ScenarioError([Problem(where=where, path=_render(path[:depth]), message="not a mapping or list")])
        if last:
            node[part] = value
        else:
            node = node[part]


def _apply(raw: dict, assignments: list[tuple[Path_, Any, str]], lines: dict) -> None:
    for path, value, where in assignments:
        _assign(raw, path, value, where)
        for key in [k for k in lines if k[: len(path)] == path]:
            del lines[key]
        lines[path] = where
        for n in range(1, len(path)):  # mappings the assignment created are located at it too
            lines.setdefault(path[:n], where)


def _fields(loc: tuple) -> list[str]:
    """Names the schema accepts at a location (for 'did you mean')."""
    model: Any = Scenario
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            args = [a for a in typing.get_args(model) if a is not type(None)]
            model = args[-1] if args else None
            continue
        model = field.annotation
        while typing.get_origin(model) in (typing.Union, types.UnionType):
            model = next(a for a in typing.get_args(model) if a is not type(None))
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


_RELATIVE = re.compile(r"^([A-Za-z_][\w-]*(?:\[\d+\]|\.[\w-]+)*): (.+)$")


def _problems(exc: ValidationError, lines: dict, file: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        keep = loc[-1:] if err["type"] == "extra_forbidden" else ()  # the unknown key is the file's, kept as is
        loc = (
            tuple(
                p
                for p in loc[: len(loc) - len(keep)]
                if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))
            )
            + keep
        )
        messages = [err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")]
        if err["type"] == "extra_forbidden":
            known = _fields(loc)
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(known)}"
            messages = [f"unknown field; {hint}"]
        elif err["type"] == "missing":
            messages = ["missing (required)"]
        for message in "\n".join(messages).split("\n"):
            full = loc
            if match := _RELATIVE.match(message):
                full, message = (*loc, *_split(match.group(1))), match.group(2)
            where = next((lines[full[:n]] for n in range(len(full), -1, -1) if full[:n] in lines), file)
            out.append(Problem(where=where, path=_render(full), message=message))
    return out


def load_scenario(
    path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    plan: str | None = None,
    overlays: Sequence[str | Path] = (),
    scale: float = 1.0,
) -> Scenario:
    """Read, override and validate a scenario file; raise ScenarioError naming every problem.

    Overlay files (`path.to.field: value` lines, as `flashsim calibrate` writes) apply after the
    plan and before the `--set` overrides. `scale` grows the result last (`grown`): the values of the
    file, its plans, overlays and overrides are all taken at the file's size.
    """
    path = Path(path)
    file = str(path)
    raw, lines = _read_yaml(path)
    if raw is None:
        raise ScenarioError([Problem(where=file, message="the file is empty; a scenario is a YAML mapping")])
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(where=lines[()], message="a scenario is a YAML mapping of sections")])
    raw.setdefault("name", path.stem)
    assignments = [a for overlay in overlays for a in _overlay_assignments(Path(overlay))]
    assignments += [(*parse_assignment(text), "--set") for text in overrides]
    plans = given if isinstance(given := raw.get("plans"), dict) else {}
    if plan is not None:
        if plan not in plans:
            raise ScenarioError(
                [
                    Problem(
                        where=file,
                        path="plans",
                        message=f"no plan {plan!r}; plans are {', '.join(sorted(plans)) or 'none'}",
                    )
                ]
            )
        assignments = _plan_assignments(plans[plan], plan, lines, file) + assignments
    _apply(raw, assignments, lines)
    scenario = validate(raw, lines, file, path.parent)
    if plan is None and not assignments:
        for name in plans:  # every plan must make a valid scenario too
            applied = copy.deepcopy(raw)
            plan_lines = dict(lines)
            _apply(applied, _plan_assignments(plans[name], name, lines, file), plan_lines)
            validate(applied, plan_lines, file, path.parent)
    return grown(scenario, scale)


def plan_names(path: str | Path) -> list[str]:
    """The names of a scenario file's plans, read even when the scenario itself does not validate."""
    try:
        raw, _ = _read_yaml(Path(path))
    except ScenarioError:
        return []
    plans = raw.get("plans") if isinstance(raw, dict) else None
    return [str(name) for name in plans] if isinstance(plans, dict) else []


def _overlay_assignments(path: Path) -> list[tuple[Path_, Any, str]]:
    raw, lines = _read_yaml(path)
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(where=lines[()], message="an overlay is a mapping of `path.to.field: value`")])
    return [(_split(str(key)), value, lines.get((key,), str(path))) for key, value in raw.items()]


def _read_yaml(path: Path) -> tuple[Any, dict]:
    """A YAML file's data and the line of each node; ScenarioError when it cannot be read."""
    file = str(path)
    try:
        if (size := path.stat().st_size) > MAX_FILE:
            message = f"{size / 1e6:.0f} MB; a scenario file is at most {MAX_FILE // 1_000_000} MB"
            raise ScenarioError([Problem(where=file, message=message)])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(where=file, message="no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(where=file, message=f"cannot read: {exc}")]) from None
    lines: dict = {}
    try:
        node = yaml.compose(text, Loader=_Loader)
        raw = _construct(node, _Loader(""), (), lines, file) if node is not None else None
    except RecursionError:
        raise ScenarioError([Problem(where=file, message="not valid YAML: nested too deeply")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark else file
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([Problem(where=where, message=f"not valid YAML: {reason}")]) from None
    return raw, lines


def _plan_assignments(plan: Any, name: str, lines: dict, file: str) -> list[tuple[Path_, Any, str]]:
    overrides = plan.get("set", {}) if isinstance(plan, dict) else {}
    if not isinstance(overrides, dict):
        return []
    return [(_split(key), value, lines.get(("plans", name, "set", key), file)) for key, value in overrides.items()]


def validate(raw: dict, lines: dict, file: str, base_dir: Path) -> Scenario:
    """Validate raw scenario data; the clock is read first so instants resolve against its start."""
    context: dict[str, Any] = {"base_dir": base_dir}
    clock = raw.get("clock")
    if isinstance(clock, dict):
        try:
            context["clock_start"] = units.parse_clock(clock.get("start", "00:00"))
        except (ValueError, TypeError):
            pass  # reported below with its line
    try:
        return Scenario.model_validate(raw, context=context)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc, lines, file)) from None


def load_saved(path: Path) -> Scenario:
    """The scenario a run wrote beside its results (scenario.json: every value resolved), through the same gate."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError([Problem(where=str(path), message="no such file")]) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError([Problem(where=str(path), message=f"cannot read it: {exc}")]) from None
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(where=str(path), message="not a scenario (a JSON object)")])
    return validate(raw, {}, str(path), path.parent)


def scenario_schema() -> dict:
    """The JSON Schema of scenario files, for editors; a field that `--scale` grows says so."""
    schema = Scenario.model_json_schema(mode="validation")
    for model in sections(Scenario):
        properties = (schema if model is Scenario else schema["$defs"].get(model.__name__, {})).get("properties", {})
        for name, field in model.model_fields.items():
            if GROWS in field.metadata and name in properties:
                properties[name]["description"] = f"{properties[name].get('description', '')} Grows with --scale."
    return schema
