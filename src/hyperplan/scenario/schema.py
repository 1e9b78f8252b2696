"""The scenario language: pydantic v2 models of a ``scenario.yaml``.

These models are the single source of the language: the JSON Schema, the reference docs and the
error messages all derive from them. Each field says what it means once, on the field:
``Field(description=..., examples=[...], json_schema_extra=about(unit, plausible_max=...))``
(read back by :mod:`hyperplan.scenario.fields`). Units: USD, hours, instances, GPUs (accelerator
devices), vCPUs, tokens/s, MW.

A scenario says *what the team needs* (workloads), *what it may buy* (providers, offers, terms),
*what it already holds* (contracts, reservations) and *the rules* (policies). The catalog
(:mod:`hyperplan.catalog`) supplies prices and specs; the scenario filters and overrides them.

This module is the import path: it re-exports every public name of the models, which live by
family in :mod:`hyperplan.scenario.models` (``base``: the base model, dates, bounded numbers and
``about``; ``series``; ``horizon``; ``providers``; ``offers``; ``commitments``: contracts and
reservations; ``workloads``; ``policies``; ``sites``: owned sites and managed platforms;
``scenario``: the root :class:`Scenario`).
"""

from hyperplan.scenario.models.base import (
    MAX_SERIES_VALUE,
    NAME_RE,
    PLAUSIBLE_MAX,
    TABLE_UNIT,
    UNIT,
    YEAR_MAX,
    YEAR_MIN,
    FieldValueError,
    FilePath,
    Fraction,
    Instances,
    Model,
    Name,
    NonNeg,
    Perf,
    Positive,
    SeriesNumber,
    Text,
    TokensPerDevice,
    UsdPerHour,
    UsdPerMillionTokens,
    When,
    about,
)
from hyperplan.scenario.models.commitments import Contract, Reservation
from hyperplan.scenario.models.horizon import SALVAGE_TERM_RE, Horizon, Salvage
from hyperplan.scenario.models.offers import OfferMatch, OfferOverride, Offers, SkypilotCsv
from hyperplan.scenario.models.policies import Policies
from hyperplan.scenario.models.providers import OutageModel, Provider, Region
from hyperplan.scenario.models.scenario import Scenario
from hyperplan.scenario.models.series import UNLIMITED, CapSeries, CsvSeries, GrowthSeries, Series
from hyperplan.scenario.models.sites import ManagedPlatform, OwnedSite, ProvisionedThroughput
from hyperplan.scenario.models.workloads import (
    Agents,
    Batch,
    Inference,
    Market,
    Route,
    Training,
    Workload,
    WorkloadBase,
)

__all__ = [
    "MAX_SERIES_VALUE",
    "NAME_RE",
    "PLAUSIBLE_MAX",
    "SALVAGE_TERM_RE",
    "TABLE_UNIT",
    "UNIT",
    "UNLIMITED",
    "YEAR_MAX",
    "YEAR_MIN",
    "Agents",
    "Batch",
    "CapSeries",
    "Contract",
    "CsvSeries",
    "FieldValueError",
    "FilePath",
    "Fraction",
    "GrowthSeries",
    "Horizon",
    "Inference",
    "Instances",
    "ManagedPlatform",
    "Market",
    "Model",
    "Name",
    "NonNeg",
    "OfferMatch",
    "OfferOverride",
    "Offers",
    "OutageModel",
    "OwnedSite",
    "Perf",
    "Policies",
    "Positive",
    "Provider",
    "ProvisionedThroughput",
    "Region",
    "Reservation",
    "Route",
    "Salvage",
    "Scenario",
    "Series",
    "SeriesNumber",
    "SkypilotCsv",
    "Text",
    "TokensPerDevice",
    "Training",
    "UsdPerHour",
    "UsdPerMillionTokens",
    "When",
    "Workload",
    "WorkloadBase",
    "about",
]
