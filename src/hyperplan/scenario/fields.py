"""What the scenario models say about each field, read from the fields themselves.

Every field of :mod:`hyperplan.scenario.schema` carries its description, examples and (through
``json_schema_extra=about(...)``) its unit, plausible maximum and table unit. This module reads
them back for the code that needs them outside the JSON Schema: the loader's range messages
(:mod:`~hyperplan.scenario.load`), the checker's plausibility messages
(:mod:`~hyperplan.scenario.check`) and the units of plan tables (:func:`demand_units`).
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any, get_args

import hyperplan.scenario.schema as models
from hyperplan.scenario.models import FAMILIES

__all__ = ["FieldMeta", "demand_units", "field_meta", "model_classes", "series_limits"]


@dataclass(frozen=True)
class FieldMeta:
    """What a field of a scenario model says about itself besides its type.

    Attributes:
        description: ``Field(description=...)``, or ``None``.
        examples: ``Field(examples=...)`` (empty when none).
        unit: the unit of its numbers (``about(unit)``; ``x-unit`` in the JSON Schema), or
            ``None`` for a field that holds no number.
        plausible_max: for a series field, the largest value any period may hold after
            expansion, in ``unit``; ``None`` for other fields (their range is their type's).
        table_unit: the short unit of a workload's demand in plan tables (default: ``unit``).
    """

    description: str | None = None
    examples: tuple[Any, ...] = ()
    unit: str | None = None
    plausible_max: float | None = None
    table_unit: str | None = None


def model_classes() -> dict[str, type[models.Model]]:
    """The model classes of the scenario language by name (the JSON Schema's ``$defs`` keys,
    plus ``Scenario`` and the bases such as ``WorkloadBase``)."""
    return dict(_classes())


@functools.cache
def _classes() -> tuple[tuple[str, type[models.Model]], ...]:
    """The model classes in the order the language declares them (family by family)."""
    out = []
    for family in FAMILIES:
        module = importlib.import_module(f"hyperplan.scenario.models.{family}")
        out += [
            (name, obj)
            for name, obj in vars(module).items()
            if isinstance(obj, type)
            and issubclass(obj, models.Model)
            and obj.__module__ == module.__name__
        ]
    return tuple(out)


def field_meta(model: type[models.Model] | str, name: str) -> FieldMeta:
    """What field ``name`` of ``model`` says about itself; inherited fields included.

    Args:
        model: a model class of :mod:`hyperplan.scenario.schema`, or its name.
        name: the field's name.

    Raises:
        KeyError: no such model or field (a programming error, not a user's).
    """
    cls = model_classes()[model] if isinstance(model, str) else model
    info = cls.model_fields[name]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    unit = extra.get(models.UNIT)
    limit = extra.get(models.PLAUSIBLE_MAX)
    return FieldMeta(
        description=info.description,
        examples=tuple(info.examples or ()),
        unit=str(unit) if unit is not None else None,
        plausible_max=float(limit) if isinstance(limit, int | float) else None,
        table_unit=str(extra.get(models.TABLE_UNIT, unit)) if unit is not None else None,
    )


def series_limits() -> dict[str, tuple[float, str]]:
    """The plausible maximum and unit of every series field: ``"Model.field" -> (limit, unit)``,
    in the order the models and their fields are declared in."""
    out: dict[str, tuple[float, str]] = {}
    for name, cls in _classes():
        for field in cls.model_fields:
            meta = field_meta(cls, field)
            if meta.plausible_max is not None:
                out[f"{name}.{field}"] = (meta.plausible_max, meta.unit or "")
    return out


WORKLOAD_KINDS: tuple[type[models.WorkloadBase], ...] = get_args(get_args(models.Workload)[0])
"""The workload models, in the order of the language (``schema.Workload``)."""


def demand_units() -> dict[str, str]:
    """The unit of each workload kind's demand as plan tables show it: kind -> table unit.

    Read from the field each kind names as its ``demand_field`` (``about(table_unit=...)``):
    ``{"inference": "tokens/s", "training": "reference GPU-hours", "agents": "vCPUs",
    "batch": "reference GPUs"}``.
    """
    out: dict[str, str] = {}
    for cls in WORKLOAD_KINDS:
        (kind,) = get_args(cls.model_fields["kind"].annotation)
        unit = field_meta(cls, cls.demand_field).table_unit
        if unit is None:
            raise TypeError(f"{cls.__name__}.{cls.demand_field} declares no unit")
        out[str(kind)] = unit
    return out
