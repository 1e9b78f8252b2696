"""What a plan was made from, typed: :class:`PlanContext` (plan.json's ``meta``, read once).

The planner builds the context from its resolved inputs; :meth:`PlanContext.from_meta` reads it
back from plan.json's ``meta`` and :meth:`PlanContext.to_meta` writes it (the JSON keys and values
are those plan.json has always had). Readers (verify, misses, sim, ledger, actuals, report) use
the typed fields: ``context.scenario`` is the validated :class:`~hyperplan.scenario.Scenario`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Annotated, Any, Protocol

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, InstanceOf, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from hyperplan.artifacts import upgrade_scenario_json
from hyperplan.artifacts.models import LimitsMeta, OutageMeta, OutagesMeta
from hyperplan.artifacts.problems import _pydantic_problems
from hyperplan.catalog.market_caps import MARKETS
from hyperplan.errors import InputError
from hyperplan.scenario.schema import Scenario, Workload

Outage = OutageMeta
"""A failure domain's outage model: ``rate_per_year`` (1/year), ``mean_hours`` (h), ``sigma``
(lognormal shape), ``control_plane_share`` (0..1). Missing values mean no outages (rate 0)."""
Outages = OutagesMeta
"""Outage models of the providers (``providers``) and regions (``regions``, ``provider:region``)."""
Limits = LimitsMeta
"""Policy limits the independent check compares the plan with (None: no limit): ``max_share``
(0..1 per provider), ``share_by``, ``site_power_mw`` and ``total_power_mw`` (MW per period),
``budget_usd`` (USD per calendar year), ``terms_periods`` (periods per term in years)."""

#: The keys of plan.json's ``meta``, in the order the planner writes them.
META_KEYS = (
    "periods",
    "providers",
    "scenarios",
    "workloads",
    "kinds",
    "target_gw",
    "budget_usd",
    "max_share",
    "period_starts",
    "outages",
    "limits",
    "scenario",
)


def workload_markets(workload: Workload) -> tuple[str, ...]:
    """Markets a workload may buy from: its ``markets``, else reserved and on-demand (and spot
    when it is preemptible). The planner's default (``plan/inputs.py``); the simulator's too."""
    given = getattr(workload, "markets", None)
    if given:
        return tuple(m for m in MARKETS if m in given)
    preemptible = bool(getattr(workload, "preemptible", False))
    return MARKETS if preemptible else MARKETS[:2]


class LedgerInfo(BaseModel):
    """``meta.ledger``: the ledger a plan was made from (``hyperplan plan --from-ledger``).

    ``version``: the ledger version (an adoption made from an older one is refused);
    ``versions``: hyperplan, solver and catalog versions of the planning process; ``options``:
    the planning options; ``scenario_yaml``: the scenario file's text.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    workspace: str | None = None
    version: int | None = Field(default=None, ge=0, strict=True)
    database: str | None = None
    reservations: int | None = None
    contracts: int | None = None
    versions: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    scenario_yaml: str | None = None

    def to_meta(self) -> dict[str, Any]:
        """The JSON dict (only the keys that were given)."""
        return self.model_dump(exclude_unset=True)


class PlanContext(BaseModel):
    """The typed ``meta`` of a plan: periods, names, limits, outage models, the scenario.

    Fields: ``periods`` (labels), ``period_starts`` (first day of each period and the day after
    the horizon: one more than ``periods``), ``providers``, ``scenarios`` (``base`` and the
    outage cases), ``workloads`` and their ``kinds``, ``target_gw`` (GW), ``budget_usd`` (USD per
    calendar year), ``max_share`` (as the scenario states it), ``outages``, ``limits``,
    ``scenario`` (the validated scenario; None for a plan made without one), ``ledger`` (see
    :class:`LedgerInfo`) and ``extra`` (other keys of ``meta``, kept as read).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    periods: tuple[str, ...] = ()
    period_starts: tuple[dt.date, ...] = ()
    providers: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    target_gw: float | None = None
    budget_usd: dict[str, float] = Field(default_factory=dict)
    max_share: float | dict[str, float] | None = None
    outages: Outages = Field(default_factory=Outages)
    limits: Limits = Field(default_factory=Limits)
    # validated where it comes from (the loader, plan.json): not again, and a partial one is kept
    scenario: InstanceOf[Scenario] | None = None
    ledger: LedgerInfo | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    # ------------------------------------------------------------------ derived
    @property
    def horizon_end(self) -> dt.date | None:
        """The first day after the horizon, or None when the plan records no dates."""
        return self.period_starts[-1] if self.period_starts else None

    @property
    def kind_of(self) -> dict[str, str]:
        """Each workload's kind (inference, training, agents, batch) by name."""
        return dict(zip(self.workloads, self.kinds, strict=False))

    def workload(self, name: str) -> Workload | None:
        """The scenario's workload called ``name`` (None when the plan has no scenario)."""
        if self.scenario is None or "workloads" not in self.scenario.model_fields_set:
            return None
        return next((w for w in self.scenario.workloads if w.name == name), None)

    def markets_of(self, name: str) -> tuple[str, ...]:
        """Markets workload ``name`` may buy from (:func:`workload_markets`; the default of a
        non-preemptible workload when the plan has no scenario)."""
        wl = self.workload(name)
        return workload_markets(wl) if wl is not None else ("reserved", "ondemand")

    def with_ledger(self, ledger: LedgerInfo | Mapping[str, Any] | None) -> PlanContext:
        """A copy recording the ledger the plan was made from."""
        info = ledger if ledger is None or isinstance(ledger, LedgerInfo) else _ledger(ledger)
        return self.model_copy(update={"ledger": info})

    # ------------------------------------------------------------------ JSON
    def to_meta(self) -> dict[str, Any]:
        """plan.json's ``meta`` (the keys and values the planner has always written)."""
        out: dict[str, Any] = {
            "periods": list(self.periods),
            "providers": list(self.providers),
            "scenarios": list(self.scenarios),
            "workloads": list(self.workloads),
            "kinds": list(self.kinds),
            "target_gw": self.target_gw,
            "budget_usd": dict(self.budget_usd),
            "max_share": dict(self.max_share)
            if isinstance(self.max_share, dict)
            else self.max_share,
            "period_starts": [d.isoformat() for d in self.period_starts],
            "outages": self.outages.model_dump(),
            "limits": self.limits.model_dump(),
            "scenario": (
                self.scenario.model_dump(mode="json") if self.scenario is not None else None
            ),
        }
        if self.ledger is not None:
            out["ledger"] = self.ledger.to_meta()
        out.update(self.extra)
        return out

    @classmethod
    def from_meta(
        cls, meta: Mapping[str, Any], *, scenario: Scenario | None = None, file: str | None = None
    ) -> PlanContext:
        """Read plan.json's ``meta`` (or one built by hand: missing keys take their defaults,
        a partial ``scenario`` keeps the parts given).

        Args:
            meta: the dict.
            scenario: the scenario already validated from ``meta["scenario"]`` (not re-read).
            file: the plan's path, for the problems' location.

        Raises:
            InputError: a value of the wrong type, located (``meta.limits.total_power_mw``).
        """
        known = {k: meta[k] for k in META_KEYS if k in meta and k != "scenario"}
        known = {k: v for k, v in known.items() if v is not None or k in ("target_gw",)}
        extra = {k: v for k, v in meta.items() if k not in META_KEYS and k != "ledger"}
        if scenario is None:
            scenario = scenario_from_json(meta.get("scenario"), file=file)
        ledger = meta.get("ledger")
        try:
            return cls(
                **known,
                scenario=scenario,
                ledger=_ledger(ledger, file) if isinstance(ledger, Mapping) else None,
                extra=extra
                if ledger is None or isinstance(ledger, Mapping)
                else {**extra, "ledger": ledger},
            )
        except PydanticValidationError as exc:
            raise InputError(_pydantic_problems(exc, file, "meta")) from None


def _ledger(data: Mapping[str, Any], file: str | None = None) -> LedgerInfo:
    try:
        return LedgerInfo.model_validate(dict(data))
    except PydanticValidationError as exc:
        raise InputError(_pydantic_problems(exc, file, "meta.ledger")) from None


def scenario_from_json(data: Any, *, file: str | None = None) -> Scenario | None:
    """The validated scenario of ``meta["scenario"]`` (None when there is none).

    A hand-built ``meta`` may hold only part of a scenario (no ``horizon`` or ``workloads``):
    the parts given are validated one by one and the rest left unset. Raises
    :class:`InputError` located under ``meta.scenario``.
    """
    data = upgrade_scenario_json(data)
    if not data:
        return None
    try:
        return Scenario.model_validate(data)
    except PydanticValidationError as exc:
        if not isinstance(data, Mapping) or any(
            e["type"] != "missing" or len(e["loc"]) != 1 for e in exc.errors()
        ):
            raise InputError(_pydantic_problems(exc, file, "meta.scenario")) from None
    parts = {}
    for name, value in data.items():  # every key is a field (else the error above is raised)
        try:
            parts[name] = _field_adapter(name).validate_python(value)
        except PydanticValidationError as exc:
            raise InputError(_pydantic_problems(exc, file, f"meta.scenario.{name}")) from None
    partial = Scenario.model_construct(**parts)
    return partial


@functools.cache
def _field_adapter(name: str) -> TypeAdapter[Any]:
    """A validator of one scenario field, with its constraints, strict as the scenario is."""
    field = Scenario.model_fields[name]
    kind = Annotated[field.annotation, field]  # type: ignore[name-defined]
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
        return TypeAdapter(kind)  # the model's own config applies
    return TypeAdapter(kind, config=ConfigDict(strict=True, str_strip_whitespace=True))


class PlanLike(Protocol):
    """What :func:`~hyperplan.plan.verify.verify` and :func:`~hyperplan.plan.misses.misses`
    read of a plan: its tables and its context."""

    tables: dict[str, pd.DataFrame]

    @property
    def context(self) -> PlanContext: ...
