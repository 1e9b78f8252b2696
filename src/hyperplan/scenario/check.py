"""Cross-reference and sanity checks of a validated scenario against the catalog.

The schema checks each value alone; :func:`check_scenario` checks what needs the whole scenario
or the catalog: every series fits the horizon (and its CSV file reads), accelerator, provider,
region and instance names exist (with did-you-mean), providers used are in play, time windows
meet the horizon, commitment terms exist, values are plausible, and each workload's filters leave
at least one catalog offer. Every problem is located at the offending field.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from hyperplan.errors import InputError, Problem, did_you_mean
from hyperplan.scenario.annotations import strip_optional, union_members
from hyperplan.scenario.fields import FieldMeta, field_meta
from hyperplan.scenario.files import FileAccessError, resolve_scenario_file
from hyperplan.scenario.schema import (
    CsvSeries,
    GrowthSeries,
    Scenario,
    Training,
)
from hyperplan.scenario.timeline import SeriesError, expand_series, timeline
from hyperplan.scenario.yamlpos import PathKey, Positions

if TYPE_CHECKING:
    from hyperplan.catalog import Catalog

_TERM = re.compile(r"^(\d+)y$")


@functools.cache
def default_catalog() -> Catalog:
    """The bundled catalog, loaded once."""
    from hyperplan.catalog import load_catalog

    return load_catalog()


def check_scenario(
    scenario: Scenario, catalog: Catalog, *, positions: Positions | None = None
) -> list[Problem]:
    """Check a validated scenario against itself and the catalog.

    Args:
        scenario: the scenario (``_base_dir`` is used to find CSV files).
        catalog: a :class:`hyperplan.catalog.Catalog` (its ``offers`` frame is used).
        positions: where each field is in the file (from :func:`~.yamlpos.parse_yaml`); without
            it problems carry the field path only.

    Returns:
        Every problem found, located (empty when all is well).
    """
    return _Checker(scenario, catalog, positions).run()


def share_caps_message(
    max_share: float | dict[str, float] | None, providers: list[str]
) -> str | None:
    """Why ``max_share`` admits no plan over ``providers`` (caps adding up to < 1), or ``None``.

    Each provider may hold at most its cap of the total; when the caps of all providers in play
    add up to less than 1, only a plan that buys nothing keeps them.
    """
    n = len(providers)
    if max_share is None or n == 0:
        return None
    if isinstance(max_share, dict):
        caps = {k.lower(): float(v) for k, v in max_share.items()}
        values = [caps.get(p.lower(), 1.0) for p in providers]
        if sum(values) >= 1.0 - 1e-9:
            return None
        listed = ", ".join(f"{p} {v:g}" for p, v in zip(providers, values, strict=True))
        return (
            f"max_share caps add up to {sum(values):g} < 1 over the {n} provider"
            f"{'s' if n != 1 else ''} in play ({listed}): no plan can buy anything; raise them "
            "to add up to at least 1 or add providers"
        )
    cap = float(max_share)
    if cap * n >= 1.0 - 1e-9:
        return None
    least = math.ceil(100.0 / n) / 100.0
    return (
        f"max_share {cap:g} × {n} provider{'s' if n != 1 else ''} < 1: no plan can buy anything; "
        f"raise max_share to ≥ {least:g} or add providers"
    )


def _is_series(annotation: Any) -> bool:
    members = union_members(strip_optional(annotation)) or []
    return GrowthSeries in members


def iter_series(obj: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, Any]]:
    """Every series field set in a scenario (or part of one): ``(path, value)``."""
    for where, value, _ in iter_series_fields(obj, path):
        yield where, value


def iter_series_fields(obj: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, Any, FieldMeta]]:
    """Every series field set in a scenario (or part of one): ``(path, value, what the field
    says about itself)`` (its unit and plausible maximum, :func:`~.fields.field_meta`)."""
    if isinstance(obj, BaseModel):
        for name, info in type(obj).model_fields.items():
            value = getattr(obj, name)
            if value is None:
                continue
            if _is_series(info.annotation):
                yield (*path, name), value, field_meta(type(obj), name)
            else:
                yield from iter_series_fields(value, (*path, name))
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from iter_series_fields(item, (*path, i))
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from iter_series_fields(item, (*path, key))


def _usd(value: float) -> str:
    """``USD 1,250,000``: an amount as the message states it (whole dollars)."""
    return f"USD {value:,.0f}"


def _names(values: Any) -> str:
    return ", ".join(sorted(str(v) for v in values))


class _Checker:
    def __init__(self, scenario: Scenario, catalog: Catalog, positions: Positions | None) -> None:
        self.s = scenario
        self.catalog = catalog
        self.pos = positions if positions is not None else Positions(scenario._source or "<input>")
        self.problems: list[Problem] = []
        self.tl = timeline(scenario.horizon)
        self.bad_workloads: set[int] = set()  # workloads with a problem: no offer check
        self.catalog_incomplete = False  # a scenario CSV failed: names may be missing
        self.offers = self._reference_offers(catalog)
        catalog_providers = set(self.offers["provider"])
        # owned sites (owned:<name>) and managed platforms' providers are in play by definition
        self.offers = pd.concat([self.offers, self._route_rows()], ignore_index=True)
        self.route_providers = set(self.offers["provider"]) - catalog_providers
        self.route_providers |= {m.provider.lower() for m in scenario.managed_platforms}
        self.route_providers |= {f"owned:{o.name}".lower() for o in scenario.owned_sites}
        self.known_providers = catalog_providers | self.route_providers
        named = [p.lower() for p in scenario.providers]
        self.in_play = (set(named) if named else catalog_providers) | self.route_providers

    def add(self, path: PathKey, message: str, *, key: bool = False) -> None:
        self.problems.append(self.pos.problem(path, message, key=key))
        if len(path) > 1 and path[0] == "workloads" and isinstance(path[1], int):
            self.bad_workloads.add(path[1])

    def run(self) -> list[Problem]:
        self._series()
        self._plausible()
        self._accelerators()
        self._routes()
        self._windows()
        self._terms()
        if not self.catalog_incomplete:  # else names from the failed CSV would cascade
            self._providers()
            self._regions()
            self._workload_offers()
        return self.problems

    # -- catalog ---------------------------------------------------------------------------

    def _reference_offers(self, catalog: Catalog) -> pd.DataFrame:
        """Catalog offers plus rows of the scenario's own CSVs: provider, region, type, acc, geo."""
        from hyperplan.catalog import geo_of_region
        from hyperplan.catalog.importers import read_user_csv

        cols = ["provider", "region", "instance_type", "accelerator"]
        frames = [catalog.offers[[*cols, "geo"]]]
        extra: list[tuple[PathKey, str, Any]] = [
            (("offers", "catalog_csv", i), p, read_user_csv)
            for i, p in enumerate(self.s.offers.catalog_csv)
        ]
        extra += [
            (("offers", "skypilot_csv", i, "path"), sp.path, _skypilot_reader(sp.provider))
            for i, sp in enumerate(self.s.offers.skypilot_csv)
        ]
        for path, name, reader in extra:
            try:
                file = resolve_scenario_file(name, self.s._base_dir)
            except FileAccessError as exc:
                self.add(path, str(exc))
                self.catalog_incomplete = True
                continue
            try:
                raw = reader(file)
            except InputError as exc:
                self.catalog_incomplete = True
                n = len(exc.problems)
                self.add(
                    path, f"cannot use {name}: {n} problem{'s' if n != 1 else ''} in that file"
                )
                self.problems.extend(exc.problems)
                continue
            raw = raw[cols].copy()
            raw["geo"] = [
                geo_of_region(p, r) for p, r in zip(raw.provider, raw.region, strict=True)
            ]
            frames.append(raw)
        offers = pd.concat(frames, ignore_index=True)
        offers["route"] = "rented"
        offers["provider"] = offers["provider"].astype(str).str.lower()
        offers["accelerator"] = offers["accelerator"].fillna("").astype(str)
        offers["region_key"] = offers["region"].astype(str).str.lower()
        return offers

    def _route_rows(self) -> pd.DataFrame:
        """Reference rows of the owned sites and managed platforms (plan/routes.py makes the
        offers): provider, region, accelerator, geo, route."""
        from hyperplan.catalog import geo_of_region, normalize_accelerator

        rows = []
        for site in self.s.owned_sites:
            try:
                acc = normalize_accelerator(site.accelerator)
            except KeyError:
                acc = ""  # reported by _routes
            rows.append(
                {
                    "provider": f"owned:{site.name}".lower(),
                    "region": site.region,
                    "instance_type": f"{acc}x{site.gpus_per_server}",
                    "accelerator": acc,
                    "geo": site.geo or geo_of_region("owned", site.region),
                    "route": "owned",
                }
            )
        for m in self.s.managed_platforms:
            region = m.region or m.name
            rows.append(
                {
                    "provider": m.provider.lower(),
                    "region": region,
                    "instance_type": f"managed:{m.name}",
                    "accelerator": "",
                    "geo": m.geo or geo_of_region(m.provider, region),
                    "route": "managed",
                }
            )
        cols = ["provider", "region", "instance_type", "accelerator", "geo", "route"]
        df = pd.DataFrame(rows, columns=cols)
        df["region_key"] = df["region"].astype(str).str.lower()
        return df

    def _routes(self) -> None:
        """Owned sites have what their cost needs; managed platforms have prices and name
        workloads that exist (inference)."""
        from hyperplan.catalog.managed import find_managed_price
        from hyperplan.catalog.owned import hardware_usd_per_accelerator

        catalog = self.catalog
        for i, site in enumerate(self.s.owned_sites):
            acc = self._accelerator(("owned_sites", i, "accelerator"), site.accelerator)
            if acc is None:
                continue
            if site.hardware_usd_per_accelerator is None and (
                hardware_usd_per_accelerator(acc) is None
            ):
                self.add(
                    ("owned_sites", i, "accelerator"),
                    f"owned_capacity_costs.csv has no hardware price for {acc}; "
                    "give hardware_usd_per_accelerator",
                )
            tdp = catalog.accelerators["tdp_w"].get(acc, float("nan"))
            if site.kw_per_server is None and not math.isfinite(float(tdp)):
                self.add(
                    ("owned_sites", i, "accelerator"),
                    f"no power figure (TDP) for {acc} in the catalog; give kw_per_server",
                )
        by_name = {w.name.lower(): w for w in self.s.workloads}
        by_model = {
            " ".join(str(w.model).lower().split()): w
            for w in self.s.workloads
            if getattr(w, "model", None)
        }
        for i, m in enumerate(self.s.managed_platforms):
            if None in (m.input_usd_per_million_tokens, m.output_usd_per_million_tokens):
                try:
                    find_managed_price(
                        str(m.model), provider=m.provider, platform=m.platform, mode=m.mode
                    )
                except KeyError as exc:
                    self.add(("managed_platforms", i, "model"), str(exc).strip("'\""))
            for j, name in enumerate(m.workloads or []):
                w = by_name.get(name.lower()) or by_model.get(" ".join(name.lower().split()))
                if w is None:
                    hint = did_you_mean(name, [x.name for x in self.s.workloads]) or "."
                    self.add(
                        ("managed_platforms", i, "workloads", j),
                        f"no workload is named {name!r} or serves a model of that name{hint}",
                    )
                elif w.kind != "inference":
                    self.add(
                        ("managed_platforms", i, "workloads", j),
                        f"workload {w.name!r} is {w.kind}: a managed platform serves inference "
                        "only",
                    )

    # -- series and plausibility -----------------------------------------------------------

    def _series(self) -> None:
        self.expanded: dict[PathKey, np.ndarray] = {}
        self.series_meta: dict[PathKey, FieldMeta] = {}
        for path, value, meta in iter_series_fields(self.s):
            self.series_meta[path] = meta
            try:
                self.expanded[path] = expand_series(value, self.tl, self.s._base_dir)
            except SeriesError as exc:
                where = (*path, "csv") if isinstance(value, CsvSeries) else path
                self.add(where, str(exc))

    def _plausible(self) -> None:
        for path, values in self.expanded.items():
            with np.errstate(invalid="ignore"):
                top = float(np.max(values)) if len(values) else 0.0
            self._absurd(path, top, self.series_meta[path])
        self._budget_vs_contracts()

    def _absurd(self, path: PathKey, value: float, meta: FieldMeta) -> None:
        """A series whose largest value ``value`` is beyond the field's plausible maximum: a unit
        mistake, stated with the field's own unit (``about(unit, plausible_max=...)``)."""
        if meta.plausible_max is None:
            return
        limit, unit = meta.plausible_max, meta.unit
        if not value <= limit:  # NaN too (a growth series that overflowed)
            self.add(
                path,
                f"{value:g} {unit} is beyond any plausible fleet: expected a number from 0 to "
                f"{limit:g} ({unit}) in every period; check the units",
            )

    def _budget_vs_contracts(self) -> None:
        """A yearly budget below what the take-or-pay contracts charge in that year admits no
        plan: their shortfall is paid anyway (plan/build.py counts it outside the budget row)."""
        path: PathKey = ("policies", "budget_usd_per_year")
        budget = self.expanded.get(path)
        if budget is None or not self.s.contracts:
            return
        tl = self.tl
        years = np.unique(tl.calendar_year)
        first = np.searchsorted(tl.calendar_year, years)
        year_of_t = np.searchsorted(years, tl.calendar_year)
        charges = np.zeros((len(self.s.contracts), len(years)))
        for c, con in enumerate(self.s.contracts):  # one row per contract, vectorised over T
            hours = tl.overlap_hours(con.start, con.end)
            total = (con.end.toordinal() - con.start.toordinal()) * 24.0
            charges[c] = np.bincount(
                year_of_t, weights=con.committed_usd * hours / total, minlength=len(years)
            )
        owed = charges.sum(axis=0)
        over = np.flatnonzero(owed > budget[first] * (1 + 1e-9) + 1e-6)
        if not over.size:
            return
        k = int(over[0])
        named = [
            f"{con.name} {_usd(charges[c, k])}"
            for c, con in enumerate(self.s.contracts)
            if charges[c, k] > 0
        ]
        self.add(
            path,
            f"the budget for {int(years[k])} ({_usd(float(budget[first[k]]))}) is below what "
            f"take-or-pay contracts charge in that year ({_usd(float(owed[k]))}: "
            f"{', '.join(named)}): no plan can keep it; raise the budget or lower the "
            "commitments",
        )

    # -- names -----------------------------------------------------------------------------

    def _accelerator(self, path: PathKey, name: str, *, key: bool = False) -> str | None:
        from hyperplan.catalog import normalize_accelerator

        try:
            return normalize_accelerator(name)
        except KeyError as exc:
            self.add(path, str(exc) if str(exc) else f"unknown accelerator {name!r}", key=key)
            return None

    def _accelerators(self) -> None:
        for i, w in enumerate(self.s.workloads):
            base: PathKey = ("workloads", i)
            for j, name in enumerate(getattr(w, "accelerators", None) or []):
                self._accelerator((*base, "accelerators", j), name)
            if hasattr(w, "reference_accelerator"):
                self._accelerator((*base, "reference_accelerator"), w.reference_accelerator)
            for field in ("perf", "perf_tokens_per_s"):
                for name in getattr(w, field, None) or {}:
                    self._accelerator((*base, field, name), name, key=True)
        for j, name in enumerate(self.s.offers.accelerators or []):
            self._accelerator(("offers", "accelerators", j), name)
        for group in ("overrides", "exclude"):
            for j, item in enumerate(getattr(self.s.offers, group)):
                match = item.match if group == "overrides" else item
                if match.accelerator:
                    where: PathKey = ("offers", group, j)
                    where += ("match", "accelerator") if group == "overrides" else ("accelerator",)
                    self._accelerator(where, match.accelerator)

    def _provider(
        self, path: PathKey, name: str, *, in_play: bool, key: bool = False
    ) -> str | None:
        low = name.lower()
        if low not in self.known_providers:
            hint = did_you_mean(name, self.known_providers) or "."
            self.add(
                path,
                f"unknown provider {name!r}{hint} Known: {_names(self.known_providers)}",
                key=key,
            )
            return None
        if in_play and low not in self.in_play:
            self.add(
                path,
                f"provider {name!r} is not in play (providers: {_names(self.in_play)}); "
                "add it under providers: or remove it here",
                key=key,
            )
            return None
        return low

    def _providers(self) -> None:
        s = self.s
        for name in s.providers:
            self._provider(("providers", name), name, in_play=False, key=True)
        for i, w in enumerate(s.workloads):
            for j, name in enumerate(w.providers or []):
                self._provider(("workloads", i, "providers", j), name, in_play=True)
        for group in ("contracts", "reservations"):
            for i, item in enumerate(getattr(s, group)):
                self._provider((group, i, "provider"), item.provider, in_play=True)
        for i, o in enumerate(s.offers.overrides):
            if o.match.provider:
                self._provider(
                    ("offers", "overrides", i, "match", "provider"), o.match.provider, in_play=False
                )
        for i, m in enumerate(s.offers.exclude):
            if m.provider:
                self._provider(("offers", "exclude", i, "provider"), m.provider, in_play=False)
        if isinstance(s.policies.max_share, dict):
            for name in s.policies.max_share:
                self._provider(("policies", "max_share", name), name, in_play=True, key=True)
        message = share_caps_message(s.policies.max_share, sorted(self.in_play))
        if message is not None and not any(
            p.path.startswith("policies.max_share") for p in self.problems
        ):
            self.add(("policies", "max_share"), message)

    def _region(
        self, path: PathKey, region: str, providers: set[str], *, key: bool = False
    ) -> bool:
        rows = self.offers[self.offers["provider"].isin(providers)]
        if region.lower() in set(rows["region_key"]):
            return True
        known = sorted(set(rows["region"]))
        who = _names(providers) if len(providers) <= 2 else "the providers in play"
        self.add(
            path,
            f"unknown region {region!r} for {who}{did_you_mean(region, known) or '.'} "
            f"Known: {', '.join(known)}",
            key=key,
        )
        return False

    def _regions(self) -> None:
        s = self.s
        for name, provider in s.providers.items():
            if name.lower() in self.known_providers:
                for region in provider.regions or {}:
                    path = ("providers", name, "regions", region)
                    self._region(path, region, {name.lower()}, key=True)
        for i, w in enumerate(s.workloads):
            allowed = {p.lower() for p in w.providers} if w.providers else self.in_play
            allowed &= self.known_providers
            for j, region in enumerate(w.regions or []):
                if allowed:
                    self._region(("workloads", i, "regions", j), region, allowed)
        for i, r in enumerate(s.reservations):
            prov = r.provider.lower()
            if prov not in self.known_providers:
                continue
            if not self._region(("reservations", i, "region"), r.region, {prov}):
                continue
            rows = self.offers[
                (self.offers["provider"] == prov) & (self.offers["region_key"] == r.region.lower())
            ]
            types = set(rows["instance_type"])
            if r.instance_type.lower() not in {t.lower() for t in types}:
                self.add(
                    ("reservations", i, "instance_type"),
                    f"instance type {r.instance_type!r} is not offered by {prov} in {r.region}"
                    f"{did_you_mean(r.instance_type, types) or '.'} Known: {_names(types)}",
                )
        for group in ("overrides", "exclude"):
            for j, item in enumerate(getattr(s.offers, group)):
                match = item.match if group == "overrides" else item
                base: PathKey = (
                    ("offers", group, j, "match") if group == "overrides" else ("offers", group, j)
                )
                provs = {match.provider.lower()} if match.provider else self.known_providers
                if match.region and provs <= self.known_providers:
                    self._region((*base, "region"), match.region, provs)
                types = set(self.offers["instance_type"])
                if match.instance_type and match.instance_type.lower() not in {
                    t.lower() for t in types
                }:
                    hint = did_you_mean(match.instance_type, types)
                    self.add(
                        (*base, "instance_type"),
                        f"unknown instance type {match.instance_type!r}{hint}",
                    )

    # -- time ------------------------------------------------------------------------------

    def _windows(self) -> None:
        start, end = self.tl.starts[0], self.tl.end
        for i, w in enumerate(self.s.workloads):
            if not isinstance(w, Training):
                continue
            if w.deadline <= start:
                self.add(
                    ("workloads", i, "deadline"),
                    f"deadline ({w.deadline}) is not after the horizon start ({start}): the run "
                    "cannot happen inside the horizon",
                )
            elif w.start >= end:
                self.add(
                    ("workloads", i, "start"),
                    f"start ({w.start}) is at or after the horizon end ({end}): the run cannot "
                    "happen inside the horizon",
                )
        for group, what in (("contracts", "contract"), ("reservations", "reservation")):
            for i, item in enumerate(getattr(self.s, group)):
                if item.end <= start:
                    self.add(
                        (group, i, "end"),
                        f"{what} ends ({item.end}) before the horizon starts ({start})",
                    )
                elif item.start >= end:
                    self.add(
                        (group, i, "start"),
                        f"{what} starts ({item.start}) after the horizon ends ({end})",
                    )

    def _terms(self) -> None:
        terms = sorted(set(self.s.terms))
        allowed = ", ".join(f"{t}y" for t in terms)
        for i, o in enumerate(self.s.offers.overrides):
            for term in o.reserved_usd_per_hour or {}:
                m = _TERM.match(term)
                if m is None or int(m[1]) not in terms:
                    path = ("offers", "overrides", i, "reserved_usd_per_hour", term)
                    self.add(
                        path,
                        f"unknown term {term!r}; expected one of the scenario's terms: {allowed}",
                        key=True,
                    )

    # -- offers left to each workload ------------------------------------------------------

    def _in_play_offers(self) -> pd.DataFrame:
        from hyperplan.catalog import normalize_accelerator

        routes = self.offers[self.offers["route"] != "rented"].copy()
        routes["geos"] = [{g} for g in routes["geo"]]
        df = self.offers[
            self.offers["provider"].isin(self.in_play) & (self.offers["route"] == "rented")
        ].copy()
        df["geos"] = [{g} for g in df["geo"]]
        for name, provider in self.s.providers.items():
            if provider.regions is None:
                continue
            mine = df["provider"] == name.lower()
            keep = df["region_key"].isin({r.lower() for r in provider.regions})
            df = df[~mine | keep]
            for region, settings in provider.regions.items():
                if settings.geo:
                    rows = (df["provider"] == name.lower()) & (df["region_key"] == region.lower())
                    df.loc[rows, "geos"] = pd.Series(
                        [set(settings.geo)] * int(rows.sum()), index=df.index[rows]
                    )
        offers = self.s.offers
        if offers.accelerators is not None:
            wanted = {normalize_accelerator(a) for a in offers.accelerators}
            df = df[(df["accelerator"] == "") | df["accelerator"].isin(wanted)]
        if offers.instance_types is not None:
            df = df[
                df["instance_type"].str.lower().isin({t.lower() for t in offers.instance_types})
            ]
        for m in offers.exclude:
            hit = pd.Series(True, index=df.index)
            if m.provider:
                hit &= df["provider"] == m.provider.lower()
            if m.region:
                hit &= df["region_key"] == m.region.lower()
            if m.instance_type:
                hit &= df["instance_type"].str.lower() == m.instance_type.lower()
            if m.accelerator:
                hit &= df["accelerator"] == normalize_accelerator(m.accelerator)
            df = df[~hit]
        return pd.concat([df, routes], ignore_index=True)  # the scenario's filters spare them

    def _workload_offers(self) -> None:
        from hyperplan.catalog import normalize_accelerator

        if any(p.path.startswith(("offers", "providers")) for p in self.problems):
            return
        base = self._in_play_offers()
        empty: dict[tuple, bool] = {}  # workloads with the same filters share the answer
        for i, w in enumerate(self.s.workloads):
            if i in self.bad_workloads:
                continue
            accs = getattr(w, "accelerators", None)
            routes = set(w.routes) if w.routes is not None else {"rented", "owned", "managed"}
            key = (
                w.kind,
                tuple(sorted(routes)),
                tuple(w.providers or ()),
                tuple(w.regions or ()),
                tuple(w.geo or ()),
                tuple(accs or ()),
            )
            if key not in empty:
                df = base[base["route"].isin(routes)]
                managed = df["route"] == "managed"
                if w.kind == "agents":
                    df = df[(df["accelerator"] == "") & ~managed]
                elif w.kind == "inference":
                    df = df[(df["accelerator"] != "") | managed]
                else:
                    df = df[df["accelerator"] != ""]
                if w.providers:
                    df = df[df["provider"].isin({p.lower() for p in w.providers})]
                if w.regions:
                    df = df[df["region_key"].isin({r.lower() for r in w.regions})]
                if w.geo:
                    tags = set(w.geo)
                    df = df[[bool(g & tags) for g in df["geos"]]]
                if accs:  # a managed platform has no accelerator to filter
                    wanted = {normalize_accelerator(a) for a in accs}
                    df = df[df["accelerator"].isin(wanted) | (df["route"] == "managed")]
                empty[key] = df.empty
            if empty[key]:
                filters = ["CPU-only offers"] if w.kind == "agents" else []
                if w.providers:
                    filters.append(f"providers [{', '.join(w.providers)}]")
                if w.regions:
                    filters.append(f"regions [{', '.join(w.regions)}]")
                if w.geo:
                    filters.append(f"geo [{', '.join(w.geo)}]")
                if accs:
                    filters.append(f"accelerators [{', '.join(accs)}]")
                detail = (
                    "; ".join(filters)
                    if filters
                    else "the scenario's offer filters: providers, offers.accelerators, "
                    "offers.instance_types and offers.exclude leave no GPU offer"
                )
                self.add(
                    ("workloads", i),
                    f"no catalog offer is left for workload {w.name!r} after its filters "
                    f"({detail})",
                )


def _skypilot_reader(provider: str) -> Any:
    from hyperplan.catalog.importers import read_skypilot_csv

    return lambda path: read_skypilot_csv(path, provider)
