"""The JSON Schema of the scenario language, for editors and for the reference docs.

:func:`scenario_json_schema` starts from ``Scenario.model_json_schema()`` (the pydantic models in
:mod:`hyperplan.scenario.schema` stay the single source of the language) and adds what an editor
and a reader need:

- what each field says about itself, all declared on the field in
  :mod:`hyperplan.scenario.schema` (``Field(description=..., examples=[...],
  json_schema_extra=about(unit, plausible_max=...))``): a description and examples on every
  field, a unit on every numeric field (``x-unit``, also shown in ``markdownDescription``), and
  a series field's plausible maximum as its ``maximum``;
- the spellings the loader accepts that pydantic's schema does not say: dates as ``2027``,
  ``2027-07`` or ``2027-Q3`` (``$defs/When``), a series given as a bare CSV path
  (``$defs/Series``), and numbers with ``_`` separators (``1_500_000``), which YAML 1.1 (the
  loader) reads as numbers and YAML 1.2 (editors) as strings;
- workloads chosen by ``kind`` with ``if``/``then``, so an editor reports the fields of the kind
  at hand rather than "matches none of four";
- JSON Schema draft-07 form (no keyword beside ``$ref``), the draft that the YAML language
  server (VS Code, Neovim, ...) and JetBrains IDEs validate.

:func:`scenario_reference_markdown` renders the same schema as the scenario reference page of
the docs (``docs/hooks.py`` calls it at build time).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import hyperplan.scenario.schema as models
from hyperplan.scenario.fields import field_meta, model_classes

SCHEMA_ID = "urn:hyperplan:scenario"
SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"
SCHEMA_FILE = "scenario.schema.json"
#: first line of a scenario that editors validate against a schema file beside it
MODELINE = f"# yaml-language-server: $schema={SCHEMA_FILE}"

#: A date as the loader reads it (``hyperplan.scenario.schema._parse_when``).
WHEN_PATTERN = r"^\s*[0-9]{4}(-[Qq][1-4]|-[0-9]{1,2}(-[0-9]{1,2})?)?\s*$"
#: A number written with ``_`` separators: a number in YAML 1.1, a string in YAML 1.2.
NUMBER_PATTERN = r"^\s*[-+]?[0-9]+(_[0-9]+)+(\.[0-9_]*)?([eE][-+]?[0-9]+)?\s*$"
INTEGER_PATTERN = r"^\s*[-+]?[0-9]+(_[0-9]+)+\s*$"
#: A series given as a bare CSV path (``"demand.csv"`` means ``{csv: demand.csv}``).
CSV_PATH_PATTERN = r"\.[cC][sS][vV]\s*$"

VALUES = ("examples", "default", "const", "enum")
ANNOTATIONS = ("title", "description", "markdownDescription", "default", "examples", "x-unit")

WHEN_DEF: dict[str, Any] = {
    "title": "When",
    "description": (
        "A point in time: a date (2027-07-01), or 2027-07, 2027-Q3, 2027: the first day of that "
        "month, quarter or year"
    ),
    "anyOf": [
        {"type": "string", "pattern": WHEN_PATTERN},
        {"type": "integer", "minimum": 1900, "maximum": 2200},
    ],
    "examples": ["2027-07-01", "2027-07", "2027-Q3", 2027],
}


def _series_def() -> dict[str, Any]:
    return {
        "title": "Series",
        "description": (
            "A value per period of the horizon: a constant, a list with one value per period, "
            "{start, growth_per_year} (geometric growth from the first period), "
            "{csv, column} or a bare CSV path (one row per period, header allowed)"
        ),
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": models.MAX_SERIES_VALUE},
            {
                "type": "array",
                "items": {"type": "number", "minimum": 0, "maximum": models.MAX_SERIES_VALUE},
            },
            {"$ref": "#/$defs/GrowthSeries"},
            {"$ref": "#/$defs/CsvSeries"},
            {"type": "string", "pattern": CSV_PATH_PATTERN},
        ],
        "examples": [100_000, [1, 2, 3, 4], {"start": 1000, "growth_per_year": 0.5}, "demand.csv"],
    }


# ----------------------------------------------------------------------------------------------
# The schema
# ----------------------------------------------------------------------------------------------


def _rst_to_md(text: str) -> str:
    """``code`` (reST) -> `code` (Markdown); docstring line breaks -> spaces."""
    text = text.replace("``", "`")
    return re.sub(r"\s*\n\s*", " ", text).strip()


def _factory_default(model: str, field: str) -> tuple[bool, Any]:
    """The default a ``default_factory`` gives, as YAML would write it (``{}`` for a model)."""
    cls = model_classes().get(model)
    info = cls.model_fields.get(field) if cls is not None else None
    if info is None or info.default_factory is None:
        return False, None
    value = info.default_factory()  # type: ignore[call-arg]
    if isinstance(value, models.Model):
        return True, {}
    return True, value


def _field_examples(model: str, field: str) -> list[Any]:
    """``Field(examples=...)`` of ``model.field`` as written (mappings keep their key order)."""
    cls = model_classes().get(model)
    if cls is None or field not in cls.model_fields:
        return []
    return copy.deepcopy(list(field_meta(cls, field).examples))


def _document(model: str, node: dict[str, Any]) -> None:
    """Finish each property of a model's schema from what its field says (``Field(description=,
    examples=, json_schema_extra=about(...))``): the unit as ``x-unit``, a series field's
    plausible maximum as its ``maximum``, the default a ``default_factory`` gives; the table unit
    (for plan tables) is left out."""
    required = set(node.get("required", ()))
    for field, prop in node.get("properties", {}).items():
        prop.pop("title", None)
        unit = prop.pop(models.UNIT, None)
        limit = prop.pop(models.PLAUSIBLE_MAX, None)
        prop.pop(models.TABLE_UNIT, None)
        prop.pop("examples", None)  # pydantic sorts the keys of example mappings: the field's own
        examples = _field_examples(model, field)
        if field not in required and "default" not in prop:
            has_default, default = _factory_default(model, field)
            if has_default:
                prop["default"] = default
        if "description" in prop:
            prop["description"] = _rst_to_md(prop["description"])
        if unit is not None:
            prop["x-unit"] = unit
        if examples:
            prop["examples"] = examples
        elif "const" in prop:
            prop["examples"] = [prop["const"]]
        if limit is not None and _is_series(prop):
            # the series field's own range (checked on every period after expansion): applies
            # to a constant; the Series type bounds list items and growth starts
            prop["maximum"] = limit
    if "description" in node:
        node["description"] = _rst_to_md(node["description"])


def _walk(node: Any, fn: Any) -> Any:
    """Apply ``fn`` bottom-up to every schema dict of a JSON Schema tree; ``fn`` returns the
    replacement. Values (``examples``, ``default``, ``const``, ``enum``) are left alone."""
    if isinstance(node, dict):
        return fn({k: v if k in VALUES else _walk(v, fn) for k, v in node.items()})
    if isinstance(node, list):
        return [_walk(v, fn) for v in node]
    return node


def _is_series(node: dict[str, Any]) -> bool:
    return any(alt == {"$ref": "#/$defs/CsvSeries"} for alt in node.get("anyOf", ()))


def _language(node: dict[str, Any]) -> dict[str, Any]:
    """Dates -> ``When``; series -> ``Series``."""
    if node.get("type") == "string" and node.get("format") == "date":
        rest = {k: v for k, v in node.items() if k not in ("type", "format")}
        return {"$ref": "#/$defs/When", **rest}
    if _is_series(node):
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if rest.get("description", "").startswith("a time series over the horizon"):
            del rest["description"]  # the Series type's own description: said in $defs/Series
        words = [alt for alt in node["anyOf"] if "const" in alt]  # a market ceiling: unlimited
        if words:
            return {"anyOf": [*words, {"$ref": "#/$defs/Series"}], **rest}
        return {"$ref": "#/$defs/Series", **rest}
    return node


def _workload_items(items: dict[str, Any]) -> dict[str, Any]:
    """``oneOf`` + discriminator -> ``kind`` enum + ``if kind == k then <model>``."""
    by_ref = {ref: kind for kind, ref in items["discriminator"]["mapping"].items()}
    mapping = {by_ref[alt["$ref"]]: alt["$ref"] for alt in items["oneOf"]}  # the models' order
    kinds = list(mapping)
    return {
        "type": "object",
        "description": "a workload; its kind decides its other fields",
        "required": ["kind"],
        "properties": {
            "kind": {
                "description": "the kind of workload: " + ", ".join(kinds),
                "enum": kinds,
                "examples": kinds,
            }
        },
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"$ref": ref},
            }
            for kind, ref in mapping.items()
        ],
    }


def _yaml_numbers(node: dict[str, Any]) -> dict[str, Any]:
    """Numbers may also be written ``1_500_000`` (a string to a YAML 1.2 editor)."""
    kind = node.get("type")
    if kind not in ("number", "integer"):
        return node
    outer = {k: v for k, v in node.items() if k in ANNOTATIONS}
    inner = {k: v for k, v in node.items() if k not in ANNOTATIONS}
    spelled = {
        "type": "string",
        "pattern": INTEGER_PATTERN if kind == "integer" else NUMBER_PATTERN,
        "patternErrorMessage": f"expected {'an integer' if kind == 'integer' else 'a number'}",
    }
    return {**outer, "anyOf": [inner, spelled]}


def _flatten(node: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [anyOf: [a, b], c]`` -> ``anyOf: [a, b, c]``."""
    if "anyOf" in node:
        alts: list[Any] = []
        for alt in node["anyOf"]:
            alts += alt["anyOf"] if set(alt) == {"anyOf"} else [alt]
        node = {**node, "anyOf": alts}
    return node


def _draft07(node: dict[str, Any]) -> dict[str, Any]:
    """Draft-07 ignores keywords beside ``$ref``: move the reference into ``allOf``."""
    if "$ref" in node and len(node) > 1:
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**rest, "allOf": [{"$ref": node["$ref"]}, *rest.get("allOf", [])]}
    return node


def _markdown_description(node: dict[str, Any]) -> dict[str, Any]:
    """Hover text for editors: the description, then the unit."""
    if "x-unit" in node and "description" in node:
        node["markdownDescription"] = f"{node['description']}\n\n*unit:* {node['x-unit']}"
    return node


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of a ``scenario.yaml``, with descriptions, units and examples.

    Deterministic: the same models give the same dict (``hyperplan schema`` writes it as JSON).
    """
    raw = models.Scenario.model_json_schema()
    defs: dict[str, Any] = raw.pop("$defs")
    for name, node in defs.items():
        _document(name, node)
    _document("Scenario", raw)

    defs = {name: _walk(node, _language) for name, node in defs.items()}
    top = _walk(raw, _language)
    top["properties"]["workloads"]["items"] = _workload_items(
        top["properties"]["workloads"]["items"]
    )
    defs["When"] = copy.deepcopy(WHEN_DEF)
    defs["Series"] = _series_def()

    def finish(node: Any, *, numbers: bool = True) -> Any:
        node = _walk(_walk(node, _yaml_numbers), _flatten) if numbers else node
        return _walk(_walk(node, _draft07), _markdown_description)

    defs = {name: finish(node, numbers=name != "When") for name, node in sorted(defs.items())}
    top = finish(top)
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DRAFT,
        "$id": SCHEMA_ID,
        "title": "hyperplan scenario",
        "description": (
            "A hyperplan scenario (scenario.yaml): what the team needs (workloads), what it may "
            "buy (providers, offers, terms), what it already holds (contracts, reservations) and "
            "the rules (policies). Generated by `hyperplan schema` from the pydantic models."
        ),
    }
    schema.update({k: v for k, v in top.items() if k not in ("title", "description")})
    schema["$defs"] = defs
    return schema


def schema_text() -> str:
    """:func:`scenario_json_schema` as the JSON text ``hyperplan schema`` prints and writes."""
    return json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------------------------
# The reference page
# ----------------------------------------------------------------------------------------------

#: Order and grouping of the reference page: (heading, [model names]).
REFERENCE_SECTIONS: list[tuple[str, list[str]]] = [
    ("The scenario", ["Scenario"]),
    ("Time", ["Horizon", "When", "Series", "GrowthSeries", "CsvSeries"]),
    ("Providers", ["Provider", "Region", "OutageModel"]),
    ("Offers", ["Offers", "OfferMatch", "OfferOverride", "SkypilotCsv"]),
    ("What you already hold", ["Contract", "Reservation"]),
    ("Workloads", ["Inference", "Training", "Agents", "Batch"]),
    ("Policies", ["Policies"]),
]


def _anchor(name: str) -> str:
    return name.lower()


def _bound_text(node: dict[str, Any]) -> str:
    parts = []
    if "minimum" in node:
        parts.append(f"≥ {_num(node['minimum'])}")
    if "exclusiveMinimum" in node:
        parts.append(f"> {_num(node['exclusiveMinimum'])}")
    if "maximum" in node:
        parts.append(f"≤ {_num(node['maximum'])}")
    return " ".join(parts)


def _num(value: Any) -> str:
    if isinstance(value, int | float) and abs(value) >= 1e6:
        return f"{value:g}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def type_text(node: dict[str, Any]) -> str:
    """A reader's name for a schema's type, Markdown, with links to the models' sections."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "allOf" in node and len(node["allOf"]) == 1:
        return f"{type_text(node['allOf'][0])} {_bound_text(node)}".strip()
    if "allOf" in node and all("then" in branch for branch in node["allOf"]):  # by kind
        return " or ".join(type_text(branch["then"]) for branch in node["allOf"])
    alts = node.get("anyOf") or node.get("oneOf")
    if alts:
        shown = [
            a
            for a in alts
            if a.get("type") != "null" and a.get("pattern") not in (NUMBER_PATTERN, INTEGER_PATTERN)
        ]
        return " or ".join(type_text(a) for a in shown)
    if "const" in node:
        return f"`{node['const']}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    kind = node.get("type")
    if kind == "array":
        return f"list of {type_text(node.get('items', {}))}"
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return f"map of name → {type_text(extra)}"
        return "mapping"
    if kind == "integer" and node.get("minimum") == 1900:
        return "year (`2027`)"
    if kind in ("number", "integer"):
        bounds = _bound_text(node)
        return f"{kind} {bounds}".strip()
    if kind == "string":
        pattern = node.get("pattern")
        if pattern == CSV_PATH_PATTERN:
            return "CSV path"
        if pattern == WHEN_PATTERN:
            return "date text (`2027-07-01`, `2027-07`, `2027-Q3`)"
        return "text"
    if kind == "boolean":
        return "true or false"
    return "any"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _yaml_inline(value: Any) -> str:
    """A value as it would be written in YAML flow style."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_inline(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and abs(value) >= 100_000:
        return f"{value:_}"
    if value == "":
        return '""'
    return str(value)


def _model_markdown(name: str, node: dict[str, Any]) -> list[str]:
    lines = [f"### {name} {{ #{_anchor(name)} }}", ""]
    if node.get("description"):
        lines += [node["description"], ""]
    props: dict[str, Any] = node.get("properties", {})
    if not props:
        lines += [f"Type: {type_text(node)}.", ""]
        if node.get("examples"):
            shown = ", ".join(f"`{_yaml_inline(v)}`" for v in node["examples"])
            lines += [f"Examples: {shown}.", ""]
        return lines
    required = set(node.get("required", ()))
    lines += ["| field | type | unit | default | description |", "|---|---|---|---|---|"]
    for field, prop in props.items():
        default = "**required**" if field in required else f"`{_yaml_inline(prop.get('default'))}`"
        desc = prop.get("description", "")
        if prop.get("examples"):
            shown = ", ".join(f"`{_yaml_inline(v)}`" for v in prop["examples"])
            desc = f"{desc}. e.g. {shown}" if desc else f"e.g. {shown}"
        lines.append(
            f"| `{field}` | {_cell(type_text(prop))} | {_cell(prop.get('x-unit', ''))} "
            f"| {_cell(default)} | {_cell(desc)} |"
        )
    lines.append("")
    return lines


def scenario_reference_markdown(
    schema: dict[str, Any] | None = None, *, schema_url: str = f"../{SCHEMA_FILE}"
) -> str:
    """The scenario reference page (Markdown), generated from :func:`scenario_json_schema`.

    Args:
        schema: the schema to render (default: :func:`scenario_json_schema`).
        schema_url: link to the schema file, relative to the page.
    """
    schema = schema if schema is not None else scenario_json_schema()
    defs = dict(schema["$defs"])
    defs["Scenario"] = {k: v for k, v in schema.items() if k != "$defs"}
    defs["Scenario"]["description"] = (
        "The top level of a `scenario.yaml`. Only `horizon` and `workloads` are required."
    )
    lines = [
        "# Scenario reference",
        "",
        "<!-- Generated at build time by docs/hooks.py from hyperplan.scenario.jsonschema: "
        "do not edit; change the models in src/hyperplan/scenario/models/. -->",
        "",
        "Every field of a `scenario.yaml`, generated from the pydantic models that validate it",
        "(`hyperplan.scenario.schema`), so it always matches the code. The same information is in",
        f"the JSON Schema that `hyperplan schema` prints ([{SCHEMA_FILE}]({schema_url})): editors",
        "that read it complete fields and flag errors as you type (see [the tutorial]"
        "(../tutorial.md#editor-support)).",
        "",
        "How to read the tables: a field is optional unless its default says **required**;",
        "`null` means *not set* (the description says what happens then). Units are in the unit",
        "column: USD, hours, instances, GPUs (accelerator devices), vCPUs, tokens/s, MW. Names of",
        "providers, regions, instance types and accelerators are those of the catalog",
        "(`hyperplan catalog`). Unknown fields are errors, with a suggestion for near misses.",
        "",
    ]
    seen: set[str] = set()
    for heading, names in REFERENCE_SECTIONS:
        lines += [f"## {heading}", ""]
        for name in names:
            if name in defs:
                seen.add(name)
                lines += _model_markdown(name, defs[name])
    rest = sorted(set(defs) - seen)
    if rest:
        lines += ["## Other types", ""]
        for name in rest:
            lines += _model_markdown(name, defs[name])
    return "\n".join(lines).rstrip() + "\n"
