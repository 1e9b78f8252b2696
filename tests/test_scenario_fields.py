"""One source of truth per scenario field (issue 14): each field of ``hyperplan.scenario.schema``
says its description, examples, unit and (series) plausible maximum, and the JSON Schema, the
loader's and checker's messages and the units of plan tables read them from there. Also the
layering of the low packages: catalog < scenario, and no import cycle inside scenario."""

from __future__ import annotations

import ast
import importlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest

from hyperplan.errors import InputError
from hyperplan.plan.inputs import DEMAND_UNITS
from hyperplan.scenario import schema as models
from hyperplan.scenario.annotations import is_model, strip_optional, union_members
from hyperplan.scenario.fields import demand_units, field_meta, model_classes, series_limits
from hyperplan.scenario.jsonschema import scenario_json_schema, schema_text
from hyperplan.scenario.load import load_scenario_text
from hyperplan.scenario.models import FAMILIES

SRC = Path(__file__).resolve().parents[1] / "src"

# The limits and units of the series fields, written out by hand (they were the table
# SERIES_LIMITS of schema.py, keyed by field name, with the units of FIELD_DOCS).
SERIES_FIELDS: dict[tuple[str, str], tuple[float, str]] = {
    ("Region", "power_mw"): (1e6, "MW"),
    ("OfferOverride", "supply"): (1e9, "instances per period"),
    ("OfferOverride", "ondemand_cap"): (1e9, "instances"),
    ("OfferOverride", "spot_cap"): (1e9, "instances"),
    ("Offers", "supply"): (1e9, "instances per period"),
    ("Offers", "ondemand_cap"): (1e9, "instances"),
    ("Offers", "spot_cap"): (1e9, "instances"),
    ("Inference", "demand_tokens_per_s"): (1e12, "output tokens/s"),
    ("Agents", "demand_vcpus"): (1e12, "vCPUs"),
    ("Batch", "demand_gpus"): (1e10, "reference accelerators"),
    ("Policies", "power_total_mw"): (1e6, "MW"),
    ("Policies", "budget_usd_per_year"): (1e15, "USD per year"),
    ("OwnedSite", "mw_per_period"): (1e6, "MW per period"),
    ("ManagedPlatform", "max_tokens_per_s"): (1e12, "output tokens/s"),
}

HEAD = """\
horizon: {start: 2027-01, period: quarter, periods: 4}
providers: {aws: {}}
"""
CHAT = "workloads:\n  - {name: chat, kind: inference, demand_tokens_per_s: 1000}\n"


def _fields() -> list[tuple[str, str, Any]]:
    """(model, field, FieldInfo) of every concrete model of the language (not the bases)."""
    return [
        (name, field, info)
        for name, cls in sorted(model_classes().items())
        if name not in ("Model", "WorkloadBase")
        for field, info in cls.model_fields.items()
    ]


def _admits_number(tp: Any) -> bool:
    tp = strip_optional(tp)
    if tp in (int, float):
        return True
    if tp is bool or is_model(tp) or tp is str:
        return False
    members = union_members(tp)
    if members is not None:
        return any(_admits_number(m) for m in members)
    if get_origin(tp) in (list, dict):
        return _admits_number(get_args(tp)[-1])
    return False


def _is_series(tp: Any) -> bool:
    return models.GrowthSeries in (union_members(strip_optional(tp)) or [])


def _problems(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        load_scenario_text(text, filename="s.yaml")
    return [str(p) for p in info.value.problems]


# ----------------------------------------------------------------------------------------------
# Each field says it, once
# ----------------------------------------------------------------------------------------------


def test_every_field_says_what_it_is_and_numbers_say_their_unit() -> None:
    missing = []
    for model, field, info in _fields():
        meta = field_meta(model, field)
        if not meta.description:
            missing.append(f"{model}.{field}: no description")
        if not meta.examples:
            missing.append(f"{model}.{field}: no examples")
        if _admits_number(info.annotation) and not meta.unit:
            missing.append(f"{model}.{field}: a number without a unit")
        extra = info.json_schema_extra or {}
        unknown = set(extra) - {models.UNIT, models.PLAUSIBLE_MAX, models.TABLE_UNIT}
        if unknown:
            missing.append(f"{model}.{field}: json_schema_extra not from about(): {unknown}")
    assert not missing, "\n".join(missing)
    # the walk reaches numbers inside unions, lists and maps, and skips text and flags
    assert _admits_number(models.Policies.model_fields["max_share"].annotation)
    assert _admits_number(models.Inference.model_fields["perf_tokens_per_s"].annotation)
    assert not _admits_number(models.Training.model_fields["single_site"].annotation)
    assert not _admits_number(models.OfferMatch.model_fields["provider"].annotation)


def test_series_fields_and_only_they_declare_a_plausible_maximum() -> None:
    found = {}
    for model, field, info in _fields():
        meta = field_meta(model, field)
        if _is_series(info.annotation):
            found[(model, field)] = (meta.plausible_max, meta.unit)
        else:
            assert meta.plausible_max is None, f"{model}.{field} is no series"
    assert found == SERIES_FIELDS
    assert series_limits() == {f"{m}.{f}": v for (m, f), v in SERIES_FIELDS.items()}


def test_the_json_schema_takes_units_and_maxima_from_the_fields() -> None:
    schema = scenario_json_schema()
    defs = {**schema["$defs"], "Scenario": schema}
    checked = 0
    maxima: list[str] = []
    for model, field, _ in _fields():
        prop = defs[model]["properties"][field]
        meta = field_meta(model, field)
        assert prop.get("x-unit") == meta.unit, f"{model}.{field}"
        assert prop["examples"] == list(meta.examples), f"{model}.{field}"
        if "maximum" in prop and (model, field) in SERIES_FIELDS:  # a series that is set
            assert prop["maximum"] == SERIES_FIELDS[(model, field)][0]
            maxima.append(f"{model}.{field}")
        checked += 1
    assert checked == sum(len(defs[m].get("properties", {})) for m in model_classes() if m in defs)
    # an optional series may be null: its limit is checked after expansion only (as before)
    assert maxima == ["Agents.demand_vcpus", "Batch.demand_gpus", "Inference.demand_tokens_per_s"]
    text = schema_text()
    assert models.PLAUSIBLE_MAX not in text and models.TABLE_UNIT not in text
    # examples keep the key order they are written in (pydantic would sort it)
    horizon = json.dumps(schema["properties"]["horizon"]["examples"][0])
    assert horizon == '{"start": "2027-01-01", "period": "quarter", "periods": 8}'


# ----------------------------------------------------------------------------------------------
# Messages name the field's unit
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEAD + "workloads:\n  - {name: chat, kind: inference, demand_tokens_per_s: 2.0e12}\n",
            # the value starts after "  - {name: chat, kind: inference, " (34 characters) and
            # "demand_tokens_per_s: " (21), at column 56
            "s.yaml:4:56: workloads[0].demand_tokens_per_s: 2e+12 output tokens/s is beyond any "
            "plausible fleet: expected a number from 0 to 1e+12 (output tokens/s) in every "
            "period; check the units",
        ),
        (
            HEAD + "workloads:\n  - {name: b, kind: batch, demand_gpus: [1, 1, 1, 3.0e10]}\n",
            "s.yaml:4:41: workloads[0].demand_gpus: 3e+10 reference accelerators is beyond any "
            "plausible fleet: expected a number from 0 to 1e+10 (reference accelerators) in "
            "every period; check the units",
        ),
        (
            HEAD + CHAT + "policies: {power_total_mw: 5.0e6}\n",
            "s.yaml:5:28: policies.power_total_mw: 5e+06 MW is beyond any plausible fleet: "
            "expected a number from 0 to 1e+06 (MW) in every period; check the units",
        ),
        (
            HEAD + CHAT + "offers: {supply: {start: 1.0e9, growth_per_year: 1.0}}\n",
            # 1e9 doubles yearly; the last quarter starts 273 days on (2027-10-01), which is
            # 273 / 365.25 years: 1e9 × 2 ** (273 / 365.25) = 1.6788e9
            "s.yaml:5:18: offers.supply: 1.6788e+09 instances per period is beyond any "
            "plausible fleet: expected a number from 0 to 1e+09 (instances per period) in every "
            "period; check the units",
        ),
    ],
    ids=["inference", "batch-list", "power", "supply-growth"],
)
def test_an_absurd_value_names_the_unit_of_its_field(text: str, expected: str) -> None:
    assert _problems(text) == [expected]


def test_messages_follow_the_field_when_its_unit_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit is read from the Field each time: change it there, and the loader's range
    message, the checker's plausibility message and the JSON Schema all say the new one."""
    extra = models.Inference.model_fields["demand_tokens_per_s"].json_schema_extra
    assert isinstance(extra, dict)
    monkeypatch.setitem(extra, models.UNIT, "zorks per tick")
    negative = HEAD + "workloads:\n  - {name: chat, kind: inference, demand_tokens_per_s: -5}\n"
    assert _problems(negative) == [
        "s.yaml:4:56: workloads[0].demand_tokens_per_s: expected a number from 0 to 1e+12 "
        "(zorks per tick), found -5"
    ]
    huge = negative.replace("-5}", "2.0e12}")
    assert "2e+12 zorks per tick is beyond any plausible fleet" in _problems(huge)[0]
    prop = scenario_json_schema()["$defs"]["Inference"]["properties"]["demand_tokens_per_s"]
    assert prop["x-unit"] == "zorks per tick"
    # the table unit is its own declaration, not the reader's unit
    assert demand_units()["inference"] == "tokens/s"


def test_demand_units_come_from_each_kinds_demand_field() -> None:
    expected = {
        "inference": "tokens/s",
        "training": "reference GPU-hours",
        "agents": "vCPUs",
        "batch": "reference GPUs",
    }
    assert demand_units() == expected
    assert dict(DEMAND_UNITS) == expected  # plan/inputs.py derives it, unchanged
    kinds = ("Inference", "Training", "Agents", "Batch")
    assert [model_classes()[m].demand_field for m in kinds] == [
        "demand_tokens_per_s",
        "compute_gpu_hours",
        "demand_vcpus",
        "demand_gpus",
    ]


# ----------------------------------------------------------------------------------------------
# Layers: catalog < scenario; no cycle inside scenario
# ----------------------------------------------------------------------------------------------


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(files: Iterable[Path], root: Path = SRC) -> dict[str, set[str]]:
    """Module -> the hyperplan modules it imports anywhere (functions and TYPE_CHECKING too).

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module. Importing
    a submodule is not counted as importing its package's ``__init__`` (as grimp counts).
    """
    known = {_module_name(p, SRC) for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in files:
        me = _module_name(path, root)
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out |= {a.name for a in node.names if a.name.startswith("hyperplan")}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hyperplan"):
                base = str(node.module)
                subs = {f"{base}.{a.name}" for a in node.names} & known
                out |= subs or {base}
        graph[me] = out - {me}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def upward_imports(graph: dict[str, set[str]], upper: str) -> list[str]:
    """``"importer -> imported"`` for each import of a module of package ``upper``."""
    return sorted(
        f"{m} -> {t}"
        for m, targets in graph.items()
        for t in targets
        if t == upper or t.startswith(upper + ".")
    )


def test_the_catalog_imports_nothing_from_the_scenario() -> None:
    graph = import_graph(sorted((SRC / "hyperplan" / "catalog").rglob("*.py")))
    assert len(graph) >= 10
    assert upward_imports(graph, "hyperplan.scenario") == []
    assert "hyperplan.paths" in graph["hyperplan.catalog.importers"]  # bounded reads, lower


def test_the_scenario_package_has_no_import_cycle() -> None:
    graph = import_graph(sorted((SRC / "hyperplan" / "scenario").rglob("*.py")))
    assert len(graph) >= 20  # the models/ families included
    assert cycles(graph) == []
    # the families import only those before them in FAMILIES (the order they declare in)
    for i, family in enumerate(FAMILIES):
        lower = {f"hyperplan.scenario.models.{f}" for f in FAMILIES[:i]}
        imported = graph[f"hyperplan.scenario.models.{family}"]
        assert {m for m in imported if m.startswith("hyperplan.")} <= lower, family
    assert "hyperplan.scenario.load" not in graph["hyperplan.scenario.check"]
    assert "hyperplan.scenario.jsonschema" not in graph["hyperplan.scenario.load"]


def test_the_layer_checks_see_a_cycle_and_a_forbidden_import(tmp_path: Path) -> None:
    """The two tests above can fail: the old imports, put back, are found."""
    graph = import_graph(sorted((SRC / "hyperplan" / "scenario").rglob("*.py")))
    graph["hyperplan.scenario.check"].add("hyperplan.scenario.load")  # the old _members import
    assert cycles(graph) == [["hyperplan.scenario.check", "hyperplan.scenario.load"]]
    # a function-level import is an import too (the old catalog/importers.py had one)
    probe = tmp_path / "hyperplan" / "catalog" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "def f():\n    from hyperplan.scenario.files import read_bounded\n", encoding="utf-8"
    )
    graph = import_graph([probe], root=tmp_path)
    assert graph == {"hyperplan.catalog.probe": {"hyperplan.scenario.files"}}
    assert upward_imports(graph, "hyperplan.scenario") == [
        "hyperplan.catalog.probe -> hyperplan.scenario.files"
    ]


# ----------------------------------------------------------------------------------------------
# The models live by family in scenario/models/; scenario.schema is the import path
# ----------------------------------------------------------------------------------------------


def _declared(path: Path) -> list[str]:
    """The public names a module declares at its top level (classes, functions, assignments)."""
    names: list[str] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return [n for n in names if not n.startswith("_")]


def test_schema_re_exports_every_public_name_of_every_family() -> None:
    folder = SRC / "hyperplan" / "scenario" / "models"
    assert sorted(FAMILIES) == sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
    declared = {name: family for family in FAMILIES for name in _declared(folder / f"{family}.py")}
    assert {"Scenario", "Workload", "about", "FieldValueError", "UNLIMITED"} <= set(declared)
    assert sorted(models.__all__) == sorted(declared)
    for name, family in declared.items():
        module = importlib.import_module(f"hyperplan.scenario.models.{family}")
        assert getattr(models, name) is getattr(module, name), name


def test_model_classes_come_family_by_family_in_declared_order() -> None:
    names = list(model_classes())
    assert names[:3] == ["Model", "GrowthSeries", "CsvSeries"]  # base, then series
    assert names[-1] == "Scenario"
    assert names.index("Horizon") < names.index("Provider") < names.index("Offers")
    assert names.index("Reservation") < names.index("WorkloadBase") < names.index("Policies")
    assert names.index("Policies") < names.index("OwnedSite") < names.index("ManagedPlatform")
    assert len(names) == len(set(names)) == 24  # each once, though later families import them
