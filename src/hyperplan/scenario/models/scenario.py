"""The root model: a whole planning question."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, PrivateAttr, model_validator

from hyperplan.scenario.models.base import (
    FieldValueError,
    Model,
    Name,
    Text,
    about,
)
from hyperplan.scenario.models.commitments import Contract, Reservation
from hyperplan.scenario.models.horizon import Horizon
from hyperplan.scenario.models.offers import Offers
from hyperplan.scenario.models.policies import Policies
from hyperplan.scenario.models.providers import Provider
from hyperplan.scenario.models.sites import ManagedPlatform, OwnedSite
from hyperplan.scenario.models.workloads import Workload


class Scenario(Model):
    """A whole planning question."""

    name: Name = Field(
        default="scenario",
        description="the scenario's name (letters, digits, _ . -), shown in reports",
        examples=["small"],
    )
    description: str = Field(
        default="",
        description="what the scenario asks, in a sentence or two",
        examples=["A training run and a growing chat service on AWS and Nebius."],
    )
    horizon: Horizon = Field(
        description=("the planning horizon: when it starts, the period length, how many periods"),
        examples=[{"start": "2027-01-01", "period": "quarter", "periods": 8}],
    )
    providers: dict[Text, Provider] = Field(
        default_factory=dict,
        description="providers in play; empty: every catalog provider",
        examples=[{"aws": {}, "nebius": {}}],
    )
    offers: Offers = Field(
        default_factory=Offers,
        description="which catalog offers are in play and what changes about them",
        examples=[{"accelerators": ["H100", "H200"]}],
    )
    terms: list[Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=lambda: [1, 3],
        description="commitment terms offered, years",
        examples=[[1, 3]],
        json_schema_extra=about("years"),
    )
    contracts: list[Contract] = Field(
        default_factory=list,
        description="existing take-or-pay spend commitments",
        examples=[
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
    )
    reservations: list[Reservation] = Field(
        default_factory=list,
        description="reserved capacity already signed (counted as capacity; cost sunk)",
        examples=[
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
    )
    workloads: list[Workload] = Field(
        min_length=1,
        description="what the team needs: inference, training, agents and batch workloads",
        examples=[
            [
                {
                    "name": "chat",
                    "kind": "inference",
                    "demand_tokens_per_s": {"start": 200_000, "growth_per_year": 1.0},
                }
            ]
        ],
    )
    policies: Policies = Field(
        default_factory=Policies,
        description="the rules the plan must keep: share caps, power, budgets, outages",
        examples=[{"max_share": 0.7, "outages": "providers"}],
    )
    integer: bool = Field(default=False, description="whole instances (MILP)", examples=[False])
    owned_sites: list[OwnedSite] = Field(
        default_factory=list,
        description="data centres the plan may build (provider owned:<name>)",
        examples=[
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
        ],
    )
    managed_platforms: list[ManagedPlatform] = Field(
        default_factory=list,
        description="managed model platforms inference may buy tokens from",
        examples=[
            [
                {
                    "name": "bedrock",
                    "provider": "aws",
                    "region": "us-east-1",
                    "model": "Llama 3.3 70B Instruct",
                    "max_tokens_per_s": 50_000,
                }
            ]
        ],
    )

    _base_dir: Path | None = PrivateAttr(default=None)  # scenario file's directory (CSV series)
    _source: str | None = PrivateAttr(default=None)  # scenario file path, for messages

    @model_validator(mode="after")
    def _unique_names(self) -> Scenario:
        """Names are compared without case everywhere (``aws`` is ``AWS``): two names of one
        kind that are equal, or differ only in case, are refused at the second."""
        for group, entries in self._named_groups():
            first: dict[str, tuple[str, tuple[str | int, ...]]] = {}
            for name, loc in entries:
                key = name.casefold()
                if key not in first:
                    first[key] = (name, loc)
                    continue
                other = first[key][0]
                if other == name:
                    message = f"two {group} are named {name!r}; names must be unique"
                else:
                    message = (
                        f"{group}: {other!r} and {name!r} differ only in case, and names are "
                        "compared without case; keep one of them"
                    )
                raise FieldValueError(message, *loc)
        return self

    def _named_groups(self) -> list[tuple[str, list[tuple[str, tuple[str | int, ...]]]]]:
        """Each kind of name with its entries: ``(what, [(name, field path), ...])``."""
        groups: list[tuple[str, list[tuple[str, tuple[str | int, ...]]]]] = []

        def listed(group: str) -> None:
            items = getattr(self, group)
            groups.append((group, [(x.name, (group, i, "name")) for i, x in enumerate(items)]))

        for group in ("workloads", "owned_sites", "managed_platforms", "contracts"):
            listed(group)
        groups.append(("providers", [(k, ("providers", k)) for k in self.providers]))
        for k, prov in self.providers.items():
            regions = prov.regions or {}
            groups.append(
                (f"regions of {k}", [(r, ("providers", k, "regions", r)) for r in regions])
            )
        if isinstance(self.policies.max_share, dict):
            groups.append(
                (
                    "max_share providers",
                    [(k, ("policies", "max_share", k)) for k in self.policies.max_share],
                )
            )
        for i, w in enumerate(self.workloads):
            for name in ("perf", "perf_tokens_per_s"):
                table = getattr(w, name, None) or {}
                groups.append(
                    (f"{name} accelerators", [(k, ("workloads", i, name, k)) for k in table])
                )
        for i, o in enumerate(self.offers.overrides):
            terms = o.reserved_usd_per_hour or {}
            where = ("offers", "overrides", i, "reserved_usd_per_hour")
            groups.append(("reserved terms", [(k, (*where, k)) for k in terms]))
        return groups
