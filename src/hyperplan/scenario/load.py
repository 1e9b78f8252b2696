"""Load a scenario file into a validated :class:`~hyperplan.scenario.schema.Scenario`.

Every fault becomes a located :class:`~hyperplan.errors.Problem` (file, line, column, field path
such as ``workloads[2].demand_tokens_per_s.growth_per_year``, and what was expected and found);
all of one stage are raised together in an :class:`~hyperplan.errors.InputError`, sorted by line.
The stages: reading and YAML (:mod:`~hyperplan.scenario.yamlpos`), the schema (pydantic errors
translated here), then cross-references against the catalog (:mod:`~hyperplan.scenario.check`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError

from hyperplan.errors import InputError, Problem, did_you_mean
from hyperplan.scenario.annotations import is_model, strip_optional, union_members
from hyperplan.scenario.fields import field_meta
from hyperplan.scenario.files import scenario_folder
from hyperplan.scenario.schema import FieldValueError, Scenario
from hyperplan.scenario.yamlpos import (
    PathKey,
    Positions,
    decode_yaml_bytes,
    parse_yaml,
    read_yaml_bytes,
)

if TYPE_CHECKING:
    from hyperplan.catalog import Catalog

__all__ = [
    "did_you_mean",
    "format_problems",
    "load_scenario",
    "load_scenario_text",
    "problems_from_validation",
]


def load_scenario(
    path: str | Path,
    *,
    catalog: Catalog | None = None,
    check: bool = True,
    allow_paths: Iterable[str | Path] = (),
) -> Scenario:
    """Read, validate and (by default) cross-check a scenario file.

    Args:
        path: the ``scenario.yaml`` file. CSV series resolve relative to its directory.
        catalog: the catalog to check names against; default: the bundled catalog.
        check: run :func:`~hyperplan.scenario.check.check_scenario` (catalog names, series
            lengths, windows, plausibility).
        allow_paths: more folders the files the scenario names (CSV series, offer CSVs) may
            lie in; by default only the scenario's own folder (and ``HYPERPLAN_ALLOW_PATHS``),
            see :mod:`hyperplan.scenario.files`.

    Returns:
        The validated scenario, with ``_source`` (the path) and ``_base_dir`` (its directory).

    Raises:
        InputError: every problem found in the first stage that fails, located.

    Example::

        >>> from hyperplan import load_scenario
        >>> scenario = load_scenario("examples/small.yaml")
        >>> scenario.horizon.periods, sorted(scenario.providers)
        (8, ['aws', 'nebius'])
    """
    path = Path(path)
    text = decode_yaml_bytes(read_yaml_bytes(path), str(path))
    scenario = load_scenario_text(
        text,
        filename=str(path),
        base_dir=path.resolve().parent,
        catalog=catalog,
        check=check,
        allow_paths=allow_paths,
    )
    scenario._source = str(path)
    return scenario


def load_scenario_text(
    text: str,
    *,
    filename: str = "<input>",
    base_dir: str | Path | None = None,
    catalog: Catalog | None = None,
    check: bool = True,
    allow_paths: Iterable[str | Path] = (),
) -> Scenario:
    """Validate a scenario given as YAML text; see :func:`load_scenario`.

    Args:
        text: the YAML document.
        filename: name used in problems (and stored as ``_source`` unless ``"<input>"``).
        base_dir: directory CSV series resolve against; default: the current directory.
        catalog: the catalog to check against; default: the bundled catalog.
        check: run the cross-reference checks.
        allow_paths: more folders its files may lie in (besides ``base_dir``, or the current
            directory without one).
    """
    data, positions = parse_yaml(text, filename)
    if not isinstance(data, dict):
        message = (
            "expected a mapping of scenario fields (horizon:, workloads:, ...) at the top level; "
            f"found {_found(data)}"
        )
        raise InputError([positions.problem((), message)])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, data, positions)) from None
    allow = list(allow_paths)
    if base_dir is not None or allow:
        scenario._base_dir = scenario_folder(
            base_dir if base_dir is not None else Path.cwd(), allow
        )
    else:
        scenario._base_dir = None
    scenario._source = filename if filename != "<input>" else None
    if check:
        from hyperplan.scenario.check import check_scenario, default_catalog

        problems = check_scenario(
            scenario, catalog if catalog is not None else default_catalog(), positions=positions
        )
        if problems:
            raise InputError(sort_problems(problems))
    return scenario


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in file order (unlocated ones first), duplicates removed."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.file or "", p.line or 0, p.column or 0))


def format_problems(problems: Sequence[Problem]) -> str:
    """Problems as text for a terminal: one ``file:line:col: path: message`` line each, and a count.

    Args:
        problems: the problems (e.g. ``InputError.problems``).
    """
    lines = [str(p) for p in sort_problems(problems)]
    n = len(lines)
    lines.append(f"{n} problem{'s' if n != 1 else ''} found")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# pydantic errors -> Problems
# ----------------------------------------------------------------------------------------------

SERIES_HINT = "a number, a list of numbers, {start, growth_per_year} or {csv, column}"
DATE_HINT = "a date like 2027-07-01, 2027-07, 2027-Q3 or 2027"


@dataclass
class _Choice:
    """A union branch pydantic tried: where the union is, the branch tag, the union members."""

    path: PathKey
    tag: str
    members: list[Any]


@dataclass
class _Err:
    """One pydantic error with its loc split into the user's path and the union branches."""

    raw: dict[str, Any]
    path: PathKey
    parent: Any  # the type holding the last path item (a model class for unknown fields)
    final: Any  # the type at the path
    choices: list[_Choice] = field(default_factory=list)
    owner: tuple[Any, str] | None = None  # the innermost model field the path goes through


def problems_from_validation(
    exc: ValidationError, data: Any, positions: Positions
) -> list[Problem]:
    """Translate a pydantic ``ValidationError`` on ``Scenario`` into located problems.

    Union branches are resolved: of the branches pydantic tried, the one matching the shape of
    the value is reported (a number: the number branch; a mapping: the model it most resembles);
    when none fits, one message lists what the union accepts.
    """
    raw = exc.errors()
    kept, dropped = _first_entries(raw, MAX_ENTRIES)
    errs = [_split(err) for err in kept]
    problems = [_problem(e, positions) for e in _select(errs, data)]
    if dropped:
        problems.append(
            positions.problem(
                dropped[0],
                f"and {len(dropped)} more entries with problems (the first {MAX_ENTRIES} "
                "are reported); fix these and run again",
            )
        )
    return sort_problems(problems)


MAX_ENTRIES = 200
"""Entries (a workload, a contract, a top-level field) whose schema problems are reported; the
rest are counted. Translating tens of thousands of errors would take seconds and help no one."""


def _first_entries(errors: list[Any], most: int) -> tuple[list[Any], list[tuple[str | int, ...]]]:
    """The errors of the first ``most`` entries (by ``loc[:2]``) and the other entries' paths."""
    seen: dict[tuple, None] = {}
    kept = []
    dropped: dict[tuple, None] = {}
    for err in errors:
        entry = tuple(item for item in err["loc"][:2])
        if entry in seen or len(seen) < most:
            seen[entry] = None
            kept.append(err)
        else:
            dropped[entry] = None
    return kept, list(dropped)


def _member_for_tag(members: list[Any], tag: str) -> Any:
    for m in members:
        if is_model(m):
            kind = m.model_fields.get("kind")
            if m.__name__ == tag or (kind is not None and tag in get_args(kind.annotation)):
                return m
    container = list if tag.startswith("list[") else dict if tag.startswith("dict[") else None
    for m in members:
        origin = get_origin(m)
        if container is not None and origin is container:
            return m
        if container is None and origin not in (list, dict) and not is_model(m):
            return m
    return None


def _split(err: Any) -> _Err:
    """Walk pydantic's loc through the schema types, separating union tags from the user's path."""
    tp: Any = Scenario
    parent: Any = None
    path: list[str | int] = []
    choices: list[_Choice] = []
    owner: tuple[Any, str] | None = None
    for item in err["loc"]:
        tp = strip_optional(tp)
        members = union_members(tp)
        if members is not None and isinstance(item, str):
            choices.append(_Choice(tuple(path), item, members))
            tp = _member_for_tag(members, item)
            continue
        if item == "[key]":
            continue
        parent = tp
        path.append(item)
        if is_model(tp):
            info = tp.model_fields.get(item) if isinstance(item, str) else None
            if info is not None:
                owner = (tp, str(item))
            tp = info.annotation if info is not None else None
        elif get_origin(tp) in (list, dict):
            tp = get_args(tp)[-1]
        else:
            tp = None
    error = err.get("ctx", {}).get("error")
    if isinstance(error, FieldValueError):
        path.extend(error.loc)
        parent, tp = None, None
    return _Err(dict(err), tuple(path), parent, strip_optional(tp), choices, owner)


def _value_at(data: Any, path: PathKey) -> Any:
    for item in path:
        try:
            data = data[item]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _select(errs: list[_Err], data: Any) -> list[_Err]:
    """Keep the errors of the union branch that fits each value; collapse unions nothing fits."""
    out: list[_Err] = []
    groups: dict[PathKey, list[_Err]] = {}
    for e in errs:
        if e.choices:
            groups.setdefault(e.choices[0].path, []).append(e)
        else:
            out.append(e)
    for where, group in groups.items():
        by_tag: dict[str, list[_Err]] = {}
        for e in group:
            by_tag.setdefault(e.choices[0].tag, []).append(e)
        members = group[0].choices[0].members
        tag = _pick_branch(_value_at(data, where), by_tag, members)
        if tag is None:
            raw = {"type": "union", "input": _value_at(data, where), "members": members}
            out.append(_Err(raw, where, None, None))
            continue
        chosen = by_tag[tag]
        for e in chosen:
            e.choices.pop(0)
        out.extend(_select(chosen, data))
    return out


_TYPE_ERRORS = re.compile(r"_type$|_parsing$")


def _pick_branch(value: Any, by_tag: dict[str, list[_Err]], members: list[Any]) -> str | None:
    if len(by_tag) == 1:
        return next(iter(by_tag))
    tags = list(by_tag)
    if isinstance(value, list):
        return next((t for t in tags if t.startswith("list[")), None)
    if isinstance(value, dict):
        if dict_tag := next((t for t in tags if t.startswith("dict[")), None):
            return dict_tag
        models = [t for t in tags if is_model(_member_for_tag(members, t))]

        def score(tag: str) -> tuple[int, int]:
            errs = by_tag[tag]
            return sum(e.raw["type"] == "extra_forbidden" for e in errs), len(errs)

        best = min(models, key=score, default=None)
        if best is None or not value or score(best)[0] >= len(value):
            return None
        return best
    for tag in tags:
        member = _member_for_tag(members, tag)
        if get_origin(member) is not None or is_model(member):
            continue
        if not any(_TYPE_ERRORS.search(e.raw["type"]) for e in by_tag[tag]):
            return tag
    return None


def _describe(members: list[Any]) -> str:
    """What a union accepts, in words."""
    names = [m.__name__ for m in members if is_model(m)]
    if set(names) == {"GrowthSeries", "CsvSeries"}:
        if any(get_args(m) == ("unlimited",) for m in members):  # a market ceiling
            return SERIES_HINT.replace(" or {csv", ", {csv") + " or unlimited"
        return SERIES_HINT
    parts = []
    for m in members:
        if is_model(m):
            parts.append("{" + ", ".join(m.model_fields) + "}")
        elif get_origin(m) is list:
            parts.append("a list")
        elif get_origin(m) is dict:
            parts.append("a mapping of names to numbers")
        else:
            parts.append("a number")
    return ", ".join(parts[:-1]) + " or " + parts[-1] if len(parts) > 1 else parts[0]


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _found(value: Any) -> str:
    """A value as the user wrote it, shortened."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _num(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        keys = ", ".join(str(k) for k in list(value)[:6])
        return f"a mapping {{{keys}}}" if value else "an empty mapping {}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def _literal_choices(tp: Any) -> list[str]:
    return [str(a) for a in get_args(tp)] if get_origin(tp) is Literal else []


def _message(e: _Err) -> tuple[str, bool]:
    """The message of one error, and whether it is located at the key rather than the value."""
    raw = e.raw
    kind = raw["type"]
    ctx = raw.get("ctx") or {}
    value = raw.get("input")
    found = _found(value)
    last = e.path[-1] if e.path else ""
    if kind == "union":
        return f"expected {_describe(raw['members'])}; found {found}", False
    if kind == "missing":
        return f"missing required field {last!r}", False
    if kind == "extra_forbidden":
        fields = list(e.parent.model_fields) if is_model(e.parent) else []
        return f"unknown field {last!r}{did_you_mean(str(last), fields)}", True
    if kind == "union_tag_invalid":
        kinds = re.findall(r"'([^']*)'", ctx.get("expected_tags", ""))
        hint = did_you_mean(ctx.get("tag", ""), kinds)
        return f"unknown kind {ctx.get('tag')!r}{hint} Expected one of: {', '.join(kinds)}", False
    if kind == "union_tag_not_found":
        return "missing required field 'kind' (inference, training, agents or batch)", False
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"]), False
    if kind == "literal_error":
        choices = _literal_choices(e.final)
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
        return f"expected one of {ctx.get('expected')}, found {found}{hint}", False
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<="}
    bounds["less_than"] = "<"
    if kind in bounds:
        limit = next(iter(ctx.values()), "")
        expected = _range_text(e.owner) or f"a number {bounds[kind]} {_num(limit)}"
        return f"expected {expected}, found {found}", False
    simple = {
        "float_type": "a number",
        "float_parsing": "a number",
        "finite_number": "a finite number",
        "int_type": "a whole number",
        "int_parsing": "a whole number",
        "int_from_float": "a whole number",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "string_type": "text",
        "list_type": "a list",
        "dict_type": "a mapping (key: value)",
        "model_type": "a mapping (key: value)",
        "model_attributes_type": "a mapping (key: value)",
        "date_type": DATE_HINT,
        "date_parsing": DATE_HINT,
        "date_from_datetime_inexact": DATE_HINT,
        "string_pattern_mismatch": "a name of letters, digits, '_', '.' or '-'",
    }
    if kind in simple:
        if kind == "int_type" and isinstance(value, float):
            found = repr(value)  # 8.0, not "8"
        return f"expected {simple[kind]}, found {found}", False
    if kind in ("string_too_short", "too_short"):
        least = ctx.get("min_length")
        unit = "character" if kind == "string_too_short" else "item"
        return f"expected at least {least} {unit}{'s' if least != 1 else ''}, found {found}", False
    if kind in ("string_too_long", "too_long"):
        most = ctx.get("max_length")
        unit = "characters" if kind == "string_too_long" else "items"
        return f"expected at most {most} {unit}, found {found}", False
    return f"{raw.get('msg', 'invalid value')}; found {found}", False


def _bounds_of(tp: Any, out: dict[str, float]) -> None:
    """Collect ``ge``/``gt``/``le``/``lt`` from the constraints in a type (first found wins)."""
    from annotated_types import Ge, Gt, Le, Lt

    if get_origin(tp) is Annotated:
        for meta in get_args(tp)[1:]:
            for item in [meta, *getattr(meta, "metadata", [])]:
                for cls, key in ((Ge, "ge"), (Gt, "gt"), (Le, "le"), (Lt, "lt")):
                    if isinstance(item, cls) and key not in out:
                        out[key] = getattr(item, key)
        _bounds_of(get_args(tp)[0], out)
        return
    for arg in get_args(tp):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            continue
        _bounds_of(arg, out)


def _range_text(owner: tuple[Any, str] | None) -> str | None:
    """``"a number from 0 to 1000 (outages per year)"``: the declared range and unit of a field."""
    if owner is None:
        return None
    model, name = owner
    info = model.model_fields.get(name)
    if info is None:
        return None
    bounds: dict[str, float] = {}
    _bounds_of(
        Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation, bounds
    )
    meta = field_meta(model, name)
    unit_text = f" ({meta.unit})" if meta.unit else ""
    lo = f"{bounds['ge']:g}" if "ge" in bounds else None
    if meta.plausible_max is not None:  # a series field's own limit, checked after expansion
        bounds["le"] = meta.plausible_max
    hi = f"{bounds['le']:g}" if "le" in bounds else None
    if "gt" in bounds:
        lo_text = f"above {bounds['gt']:g}"
    elif lo is not None:
        lo_text = f"from {lo}"
    else:
        lo_text = ""
    if hi is not None and lo_text.startswith("from"):
        return f"a number {lo_text} to {hi}{unit_text}"
    if hi is not None:
        return f"a number {lo_text + ' and ' if lo_text else ''}at most {hi}{unit_text}"
    if lo_text:
        return f"a number {lo_text}{unit_text}"
    return None


def _problem(e: _Err, positions: Positions) -> Problem:
    message, at_key = _message(e)
    path = e.path
    if e.raw["type"] in ("union_tag_invalid", "union_tag_not_found"):
        path = (*path, "kind")
    return positions.problem(path, message, key=at_key)
