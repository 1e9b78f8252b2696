"""The JSON Schema of the scenario language, for editors and for the reference docs.

:func:`scenario_json_schema` starts from ``Scenario.model_json_schema()`` (the pydantic models in
:mod:`hyperplan.scenario.schema` stay the single source of the language) and adds what an editor
and a reader need:

- a description on every field (the model's own ``Field(description=...)``; :data:`FIELD_DOCS`
  fills the few fields that have none), a unit on every numeric field (``x-unit``, also shown in
  ``markdownDescription``) and examples on every field;
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

from hyperplan.scenario import schema as models

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

# ----------------------------------------------------------------------------------------------
# What the models do not say: descriptions (only where the model has none), units, examples.
# Keys are "Model.field"; a base class's key (WorkloadBase) covers its subclasses.
# ----------------------------------------------------------------------------------------------

FIELD_DOCS: dict[str, dict[str, Any]] = {
    # series
    "GrowthSeries.start": {"unit": "unit of the field", "examples": [200_000]},
    "GrowthSeries.growth_per_year": {"unit": "fraction per year", "examples": [1.0, 0.5]},
    "CsvSeries.csv": {"examples": ["demand.csv"]},
    "CsvSeries.column": {"examples": ["tokens_per_s"]},
    # horizon
    "Horizon.start": {"examples": ["2027-01-01", "2027-Q1", 2027]},
    "Horizon.period": {"examples": ["quarter"]},
    "Horizon.periods": {"unit": "periods", "examples": [8, 20]},
    "Horizon.discount_rate": {"unit": "fraction per year", "examples": [0.08]},
    "Horizon.end_effects": {"examples": ["full", "prorate"]},
    "Horizon.salvage": {"examples": [{"fraction": 0.3}, {"usd_per_instance_hour": 1.2}]},
    "Salvage.fraction": {"unit": "fraction", "examples": [0.3]},
    "Salvage.usd_per_instance_hour": {"unit": "USD per instance-hour", "examples": [1.2]},
    "Salvage.terms": {"examples": [["3y"], ["build"]]},
    "OfferOverride.salvage": {"examples": [{"fraction": 0.5, "terms": ["3y"]}]},
    # providers
    "OutageModel.rate_per_year": {"unit": "outages per year", "examples": [1.0, 0.5]},
    "OutageModel.mean_hours": {"unit": "hours", "examples": [8.0, 12.0]},
    "OutageModel.sigma": {"unit": "dimensionless", "examples": [1.0]},
    "OutageModel.control_plane_share": {"unit": "fraction", "examples": [0.0, 0.3]},
    "Region.geo": {"examples": [["us"], ["eu"]]},
    "Region.power_mw": {"unit": "MW", "examples": [50, {"start": 20, "growth_per_year": 0.5}]},
    "Region.pue": {"unit": "ratio", "examples": [1.1, 1.3]},
    "Region.outage": {"examples": [{"rate_per_year": 2, "mean_hours": 4}]},
    "Provider.regions": {"examples": [{"us-east-1": {}, "us-west-2": {"power_mw": 50}}]},
    "Provider.pue": {"unit": "ratio", "examples": [1.2, 1.1]},
    "Provider.outage": {"examples": [{"rate_per_year": 1, "mean_hours": 12}]},
    # offers
    "OfferMatch.provider": {
        "description": "provider name, as in the catalog (e.g. aws); any when omitted",
        "examples": ["aws"],
    },
    "OfferMatch.region": {
        "description": "region code, as the provider names it; any when omitted",
        "examples": ["us-east-1"],
    },
    "OfferMatch.instance_type": {
        "description": "instance type, as the provider names it; any when omitted",
        "examples": ["p5.48xlarge"],
    },
    "OfferMatch.accelerator": {
        "description": "accelerator name (normalised, e.g. H100); any when omitted",
        "examples": ["H100"],
    },
    "OfferOverride.match": {
        "description": "the catalog offers this override changes: every given field must match",
        "examples": [{"provider": "aws", "instance_type": "p5.48xlarge"}],
    },
    "OfferOverride.ondemand_usd_per_hour": {
        "unit": "USD per instance-hour",
        "examples": [55.04],
    },
    "OfferOverride.spot_usd_per_hour": {"unit": "USD per instance-hour", "examples": [22.0]},
    "OfferOverride.reserved_usd_per_hour": {
        "unit": "USD per instance-hour",
        "examples": [{"1y": 38.5, "3y": 24.2}],
    },
    "OfferOverride.available_from": {"examples": ["2026-07-01", "2026-Q3"]},
    "OfferOverride.supply": {
        "unit": "instances per period",
        "examples": [500, {"start": 2000, "growth_per_year": 0.5}],
    },
    "OfferOverride.max_instances": {"unit": "instances", "examples": [4000]},
    "OfferOverride.ondemand_cap": {"unit": "instances", "examples": [2000, "unlimited"]},
    "OfferOverride.spot_cap": {"unit": "instances", "examples": [1000]},
    "OfferOverride.kw_per_instance": {"unit": "kW", "examples": [10.2]},
    "Offers.catalog_csv": {"examples": [["my-offers.csv"]]},
    "Offers.skypilot_csv": {"examples": [[{"path": "aws_vms.csv", "provider": "aws"}]]},
    "Offers.accelerators": {"examples": [["H100", "H200"]]},
    "Offers.instance_types": {"examples": [["p5.48xlarge", "p5en.48xlarge"]]},
    "Offers.exclude": {"examples": [[{"provider": "aws", "region": "us-east-2"}]]},
    "Offers.overrides": {
        "description": (
            "changes to the offers each entry's match selects: negotiated prices, supply, caps, "
            "availability"
        ),
        "examples": [[{"match": {"provider": "aws"}, "ondemand_cap": 200}]],
    },
    "Offers.ondemand_cap": {"unit": "instances", "examples": [2000, "unlimited"]},
    "Offers.spot_cap": {"unit": "instances", "examples": [1000, "unlimited"]},
    "Offers.supply": {"unit": "instances per period", "examples": [2000]},
    "SkypilotCsv.path": {
        "description": "path of a SkyPilot catalog CSV (vms.csv), relative to the scenario file",
        "examples": ["aws_vms.csv"],
    },
    "SkypilotCsv.provider": {
        "description": "the provider whose offers the CSV lists",
        "examples": ["aws"],
    },
    # existing commitments
    "Contract.name": {
        "description": "the contract's name (for reports and messages)",
        "examples": ["azure-2026"],
    },
    "Contract.provider": {
        "description": "provider the spend is committed to",
        "examples": ["azure"],
    },
    "Contract.committed_usd": {"unit": "USD", "examples": [38_000_000_000]},
    "Contract.start": {
        "description": "first day of the contract window",
        "examples": ["2026-01-01"],
    },
    "Contract.end": {
        "description": "first day after the contract window",
        "examples": ["2033-01-01"],
    },
    "Contract.discount": {"unit": "fraction", "examples": [0.25]},
    "Reservation.provider": {
        "description": "provider of the reserved instances",
        "examples": ["azure"],
    },
    "Reservation.region": {
        "description": "region of the reserved instances",
        "examples": ["eastus"],
    },
    "Reservation.instance_type": {
        "description": "instance type of the reserved instances",
        "examples": ["Standard_ND96isr_H100_v5"],
    },
    "Reservation.instances": {
        "description": "number of instances reserved",
        "unit": "instances",
        "examples": [15000],
    },
    "Reservation.start": {"description": "first day of the reservation", "examples": ["2025-01"]},
    "Reservation.end": {"description": "first day after the reservation", "examples": ["2027-01"]},
    "Reservation.usd_per_hour": {"unit": "USD per instance-hour", "examples": [60.0]},
    # workloads
    "WorkloadBase.name": {
        "description": "the workload's name, unique in the scenario (letters, digits, _ . -)",
        "examples": ["chat", "pretrain"],
    },
    "WorkloadBase.providers": {"examples": [["aws", "nebius"]]},
    "WorkloadBase.regions": {"examples": [["us-east-1", "eu-north1"]]},
    "WorkloadBase.geo": {"examples": [["eu"], ["us", "ca"]]},
    "WorkloadBase.markets": {"examples": [["reserved", "ondemand"]]},
    "WorkloadBase.priority": {"unit": "rank", "examples": [10]},
    "WorkloadBase.routes": {"examples": [["rented", "owned"], ["managed"]]},
    "Inference.kind": {"description": "inference: token serving", "examples": ["inference"]},
    "Inference.demand_tokens_per_s": {
        "unit": "output tokens/s",
        "examples": [200_000, {"start": 200_000, "growth_per_year": 1.0}],
    },
    "Inference.model_params_b": {"unit": "billion parameters", "examples": [70, 405]},
    "Inference.perf_tokens_per_s": {
        "unit": "output tokens/s per device",
        "examples": [{"H100": 3000, "H200": 4200}],
    },
    "Inference.accelerators": {"examples": [["H100", "H200"]]},
    "Inference.resilience": {"unit": "fraction", "examples": [0.8]},
    "Inference.model": {"examples": ["Llama 3.3 70B Instruct"]},
    "Inference.input_tokens_per_output": {
        "unit": "input tokens per output token",
        "examples": [1.0, 4.0],
    },
    "Inference.preemptible": {
        "description": "may use spot capacity and be preempted (requests retried elsewhere)",
        "examples": [False],
    },
    "Training.kind": {"description": "training: a run of fixed work", "examples": ["training"]},
    "Training.compute_gpu_hours": {
        "unit": "reference-accelerator hours",
        "examples": [1_500_000],
    },
    "Training.reference_accelerator": {
        "description": "the accelerator compute_gpu_hours and perf are counted in",
        "examples": ["H100"],
    },
    "Training.start": {"examples": ["2027-Q2"]},
    "Training.deadline": {"examples": ["2028-Q1"]},
    "Training.accelerators": {"examples": [["H100", "H200", "B200"]]},
    "Training.perf": {
        "unit": "reference-accelerator equivalents per device",
        "examples": [{"B200": 2.27}],
    },
    "Training.single_site": {"examples": [True]},
    "Training.max_instances": {"unit": "instances", "examples": [2000]},
    "Training.preemptible": {
        "description": "may use spot capacity and be preempted (the run resumes from a checkpoint)",
        "examples": [False],
    },
    "Agents.kind": {"description": "agents: CPU sandboxes", "examples": ["agents"]},
    "Agents.demand_vcpus": {
        "unit": "vCPUs",
        "examples": [2_000_000, {"start": 2_000_000, "growth_per_year": 1.0}],
    },
    "Agents.resilience": {
        "description": "share of demand that must be served when any one domain is down",
        "unit": "fraction",
        "examples": [0.5],
    },
    "Agents.preemptible": {
        "description": "may use spot capacity and be preempted (sandboxes restart elsewhere)",
        "examples": [True],
    },
    "Batch.kind": {"description": "batch: preemptible GPU work", "examples": ["batch"]},
    "Batch.demand_gpus": {
        "unit": "reference accelerators",
        "examples": [150_000, {"start": 1000, "growth_per_year": 1.0}],
    },
    "Batch.reference_accelerator": {
        "description": "the accelerator demand_gpus and perf are counted in",
        "examples": ["H100"],
    },
    "Batch.accelerators": {"examples": [["H100", "H200"]]},
    "Batch.perf": {
        "description": "reference-accelerator equivalents per device; default: bf16 TFLOPS ratio",
        "unit": "reference-accelerator equivalents per device",
        "examples": [{"H200": 1.0}],
    },
    "Batch.resilience": {
        "description": "share of demand that must be served when any one domain is down",
        "unit": "fraction",
        "examples": [0.0],
    },
    "Batch.preemptible": {
        "description": "may use spot capacity and be preempted (the work is retried)",
        "examples": [True],
    },
    # policies
    "Policies.max_share": {"unit": "fraction", "examples": [0.5, {"aws": 0.6, "azure": 0.4}]},
    "Policies.share_by": {
        "description": "what max_share measures: spend (USD) or GPUs in use",
        "examples": ["spend"],
    },
    "Policies.power_total_mw": {"unit": "MW", "examples": [300]},
    "Policies.budget_usd_per_year": {
        "unit": "USD per year",
        "examples": [10_000_000, [5e6, 8e6]],
    },
    "Policies.outages": {"examples": ["providers"]},
    "Policies.target_gw": {"unit": "GW", "examples": [30]},
    "Policies.unserved_penalty_factor": {"unit": "multiplier", "examples": [10]},
    # owned sites and managed platforms
    "OwnedSite.name": {
        "description": "the site's name (letters, digits, _ . -); its provider is owned:<name>",
        "examples": ["dc1"],
    },
    "OwnedSite.region": {"examples": ["us-va", "onprem"]},
    "OwnedSite.geo": {"examples": ["us", "eu"]},
    "OwnedSite.accelerator": {"examples": ["H100", "B200"]},
    "OwnedSite.gpus_per_server": {"unit": "accelerators per server", "examples": [8]},
    "OwnedSite.kw_per_server": {"unit": "kW (IT)", "examples": [10.2]},
    "OwnedSite.mw_per_period": {"unit": "MW per period", "examples": [20, [0, 20, 40, 40]]},
    "OwnedSite.max_mw": {"unit": "MW", "examples": [100]},
    "OwnedSite.lead_time_periods": {"unit": "periods", "examples": [6, 8]},
    "OwnedSite.facility_usd_per_mw": {"unit": "USD per MW of IT load", "examples": [11_700_000]},
    "OwnedSite.hardware_usd_per_accelerator": {
        "unit": "USD per accelerator",
        "examples": [31_904.63],
    },
    "OwnedSite.facility_lifetime_years": {"unit": "years", "examples": [20]},
    "OwnedSite.hardware_lifetime_years": {"unit": "years", "examples": [5, 6]},
    "OwnedSite.electricity_usd_per_mwh": {"unit": "USD per MWh", "examples": [89.2, 66.0]},
    "OwnedSite.pue": {"unit": "ratio", "examples": [1.1, 1.3]},
    "OwnedSite.fixed_om_share_per_year": {"unit": "fraction of capex per year", "examples": [0.03]},
    "OwnedSite.outage": {"examples": [{"rate_per_year": 0.5, "mean_hours": 24}]},
    "ProvisionedThroughput.usd_per_unit_hour": {"unit": "USD per unit-hour", "examples": [63.0]},
    "ProvisionedThroughput.tokens_per_s_per_unit": {
        "unit": "output tokens/s per unit",
        "examples": [1000],
    },
    "ProvisionedThroughput.term_months": {"unit": "months", "examples": [1, 6]},
    "ProvisionedThroughput.max_units": {"unit": "units", "examples": [100]},
    "ManagedPlatform.name": {
        "description": "the platform's name (letters, digits, _ . -), shown in reports",
        "examples": ["bedrock-llama"],
    },
    "ManagedPlatform.provider": {"examples": ["aws"]},
    "ManagedPlatform.region": {"examples": ["us-east-1"]},
    "ManagedPlatform.geo": {"examples": ["us"]},
    "ManagedPlatform.model": {"examples": ["Llama 3.3 70B Instruct"]},
    "ManagedPlatform.platform": {"examples": ["Amazon Bedrock"]},
    "ManagedPlatform.mode": {"examples": ["on-demand"]},
    "ManagedPlatform.input_usd_per_million_tokens": {
        "unit": "USD per million input tokens",
        "examples": [0.72],
    },
    "ManagedPlatform.output_usd_per_million_tokens": {
        "unit": "USD per million output tokens",
        "examples": [0.72],
    },
    "ManagedPlatform.max_tokens_per_s": {"unit": "output tokens/s", "examples": [50_000]},
    "ManagedPlatform.provisioned": {
        "examples": [{"usd_per_unit_hour": 63.0, "tokens_per_s_per_unit": 1000, "term_months": 1}]
    },
    "ManagedPlatform.workloads": {"examples": [["chat"], ["Llama 3.3 70B Instruct"]]},
    # scenario
    "Scenario.name": {
        "description": "the scenario's name (letters, digits, _ . -), shown in reports",
        "examples": ["small"],
    },
    "Scenario.description": {
        "description": "what the scenario asks, in a sentence or two",
        "examples": ["A training run and a growing chat service on AWS and Nebius."],
    },
    "Scenario.horizon": {
        "description": "the planning horizon: when it starts, the period length, how many periods",
        "examples": [{"start": "2027-01-01", "period": "quarter", "periods": 8}],
    },
    "Scenario.providers": {"examples": [{"aws": {}, "nebius": {}}]},
    "Scenario.offers": {
        "description": "which catalog offers are in play and what changes about them",
        "examples": [{"accelerators": ["H100", "H200"]}],
    },
    "Scenario.terms": {"unit": "years", "examples": [[1, 3]]},
    "Scenario.contracts": {
        "description": "existing take-or-pay spend commitments",
        "examples": [
            [
                {
                    "name": "aws-2026",
                    "provider": "aws",
                    "committed_usd": 38e9,
                    "start": "2026-01",
                    "end": "2033-01",
                    "discount": 0.25,
                }
            ]
        ],
    },
    "Scenario.reservations": {
        "description": "reserved capacity already signed (counted as capacity; cost sunk)",
        "examples": [
            [
                {
                    "provider": "aws",
                    "region": "us-east-1",
                    "instance_type": "p5.48xlarge",
                    "instances": 16,
                    "start": "2026-01",
                    "end": "2028-01",
                }
            ]
        ],
    },
    "Scenario.workloads": {
        "description": "what the team needs: inference, training, agents and batch workloads",
        "examples": [
            [
                {
                    "name": "chat",
                    "kind": "inference",
                    "demand_tokens_per_s": {"start": 200_000, "growth_per_year": 1.0},
                }
            ]
        ],
    },
    "Scenario.policies": {
        "description": "the rules the plan must keep: share caps, power, budgets, outages",
        "examples": [{"max_share": 0.7, "outages": "providers"}],
    },
    "Scenario.integer": {"examples": [False]},
    "Scenario.owned_sites": {
        "examples": [
            [
                {
                    "name": "dc1",
                    "region": "us-va",
                    "accelerator": "H100",
                    "max_mw": 100,
                    "mw_per_period": 20,
                    "lead_time_periods": 6,
                    "facility_lifetime_years": 20,
                    "fixed_om_share_per_year": 0.03,
                }
            ]
        ]
    },
    "Scenario.managed_platforms": {
        "examples": [
            [
                {
                    "name": "bedrock",
                    "provider": "aws",
                    "region": "us-east-1",
                    "model": "Llama 3.3 70B Instruct",
                    "max_tokens_per_s": 50_000,
                }
            ]
        ]
    },
}

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
            {"type": "number", "minimum": 0},
            {"type": "array", "items": {"type": "number", "minimum": 0}},
            {"$ref": "#/$defs/GrowthSeries"},
            {"$ref": "#/$defs/CsvSeries"},
            {"type": "string", "pattern": CSV_PATH_PATTERN},
        ],
        "examples": [100_000, [1, 2, 3, 4], {"start": 1000, "growth_per_year": 0.5}, "demand.csv"],
    }


# ----------------------------------------------------------------------------------------------
# The schema
# ----------------------------------------------------------------------------------------------


def _model_classes() -> dict[str, type]:
    """Model classes of the language by name (the keys of ``$defs``, plus Scenario)."""
    return {
        name: obj
        for name, obj in vars(models).items()
        if isinstance(obj, type) and issubclass(obj, models.Model)
    }


def field_docs(model: str, field: str) -> dict[str, Any]:
    """The :data:`FIELD_DOCS` entry of ``model.field``, looked up along the model's bases."""
    cls = _model_classes().get(model)
    names = [c.__name__ for c in cls.__mro__] if cls is not None else [model]
    for name in names:
        entry = FIELD_DOCS.get(f"{name}.{field}")
        if entry is not None:
            return entry
    return {}


def _rst_to_md(text: str) -> str:
    """``code`` (reST) -> `code` (Markdown); docstring line breaks -> spaces."""
    text = text.replace("``", "`")
    return re.sub(r"\s*\n\s*", " ", text).strip()


def _factory_default(model: str, field: str) -> tuple[bool, Any]:
    """The default a ``default_factory`` gives, as YAML would write it (``{}`` for a model)."""
    cls = _model_classes().get(model)
    info = cls.model_fields.get(field) if cls is not None else None
    if info is None or info.default_factory is None:
        return False, None
    value = info.default_factory()  # type: ignore[call-arg]
    if isinstance(value, models.Model):
        return True, {}
    return True, value


def _document(model: str, node: dict[str, Any]) -> None:
    """Fill the description, unit, examples and default of each property of a model's schema."""
    required = set(node.get("required", ()))
    for field, prop in node.get("properties", {}).items():
        docs = field_docs(model, field)
        prop.pop("title", None)
        if field not in required and "default" not in prop:
            has_default, default = _factory_default(model, field)
            if has_default:
                prop["default"] = default
        if "description" not in prop and "description" in docs:
            prop["description"] = docs["description"]
        if "description" in prop:
            prop["description"] = _rst_to_md(prop["description"])
        if "unit" in docs:
            prop["x-unit"] = docs["unit"]
        if "examples" in docs and "examples" not in prop:
            prop["examples"] = copy.deepcopy(docs["examples"])
        if "const" in prop and "examples" not in prop:
            prop["examples"] = [prop["const"]]
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
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def type_text(node: dict[str, Any]) -> str:
    """A reader's name for a schema's type, Markdown, with links to the models' sections."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "allOf" in node and len(node["allOf"]) == 1:
        return type_text(node["allOf"][0])
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
        "do not edit; change the models in src/hyperplan/scenario/schema.py. -->",
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
