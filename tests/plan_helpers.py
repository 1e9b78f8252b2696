"""Helpers for the planner's correctness tests: a tiny catalog and scenarios from plain dicts.

``tiny_catalog`` builds a :class:`~hyperplan.catalog.Catalog` that holds ONLY the offers given
(through the user-CSV reader and ``derive_offers``, the same path the planner's catalog takes),
so a test knows every price in play and can derive the optimal plan by hand.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from hyperplan.catalog import Catalog, load_catalog
from hyperplan.catalog.importers import read_user_csv
from hyperplan.catalog.offers import derive_offers, merge_raw
from hyperplan.scenario.schema import Scenario

REQUIRED = (
    "provider",
    "region",
    "instance_type",
    "accelerator",
    "accelerators_per_instance",
    "vcpus",
    "memory_gib",
    "ondemand_usd_per_hour",
    "spot_usd_per_hour",
    "source",
)
OPTIONAL = ("reserved_1y_usd_per_hour", "reserved_3y_usd_per_hour", "kw_per_instance")

#: defaults for a row: one H100 per instance, no spot market
DEFAULTS: dict[str, Any] = {
    "accelerator": "H100",
    "accelerators_per_instance": 1,
    "vcpus": 26,
    "memory_gib": 200,
    "spot_usd_per_hour": "",
    "source": "test",
}

_counter = itertools.count()


def offer(provider: str, region: str, instance_type: str, ondemand: float, **extra: Any) -> dict:
    """One CSV row: defaults plus the given fields (``reserved_3y_usd_per_hour=...`` etc.)."""
    return {
        **DEFAULTS,
        "provider": provider,
        "region": region,
        "instance_type": instance_type,
        "ondemand_usd_per_hour": ondemand,
        **extra,
    }


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write offer rows as a user CSV; optional columns appear when any row has them."""
    rows = [{**DEFAULTS, **r} for r in rows]
    optional = [c for c in OPTIONAL if any(c in r for r in rows)]
    header = [*REQUIRED, *optional]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for r in rows:
            writer.writerow({c: ("" if r.get(c) is None else r.get(c, "")) for c in header})
    return path


def tiny_catalog(tmp_path: Path, rows: Iterable[Mapping[str, Any]]) -> Catalog:
    """A catalog with only ``rows`` as offers (specs, throughput, discounts from the bundle).

    Rows are dicts with the user-CSV columns (see :func:`offer`); missing columns take
    :data:`DEFAULTS`. A row without a reserved price offers no reserved term (a blank reserved
    price in a user CSV means "not offered"), so tests that want reservations give the prices.
    """
    path = write_csv(Path(tmp_path) / f"offers_{next(_counter)}.csv", rows)
    base = load_catalog()
    offers = derive_offers(merge_raw([read_user_csv(path)]), base.accelerators, base.discounts)
    return Catalog(
        offers=offers,
        accelerators=base.accelerators,
        throughput=base.throughput,
        discounts=base.discounts,
    )


def scenario(**data: Any) -> Scenario:
    """A validated scenario from keyword arguments (the YAML mapping)."""
    data.setdefault("name", "test")
    return Scenario.model_validate(data)


def horizon(periods: int = 1, period: str = "year", start: str = "2027-01-01") -> dict:
    """An undiscounted horizon (d_t = 1), so every cost is hours × price."""
    return {"start": start, "period": period, "periods": periods, "discount_rate": 0.0}


def inference(name: str, demand: Any, perf: float = 100.0, **extra: Any) -> dict:
    """An inference workload on H100 with an explicit per-device throughput (no estimate)."""
    return {
        "name": name,
        "kind": "inference",
        "demand_tokens_per_s": demand,
        "perf_tokens_per_s": {"H100": perf},
        **extra,
    }


def rows_of(df: pd.DataFrame, **match: Any) -> pd.DataFrame:
    """Rows of a result table whose columns equal the given values."""
    mask = pd.Series(True, index=df.index)
    for column, value in match.items():
        mask &= df[column] == value
    return df[mask]


def total(df: pd.DataFrame, column: str, **match: Any) -> float:
    """Sum of ``column`` over the rows matching ``match``."""
    return float(rows_of(df, **match)[column].sum())


#: An owned site whose every figure is given (no catalog default), 1 GPU per server, 1 kW,
#: PUE 1: facility 876 000 USD/MW × 1 kW = 876 USD and hardware 43 800 USD per server,
#: electricity 1 kW × 100 USD/MWh = 0.1 USD/h (hand derivations in tests/test_routes.py).
OWNED_SITE: dict[str, Any] = {
    "name": "dc1",
    "region": "us-tx",
    "geo": "us",
    "accelerator": "H100",
    "gpus_per_server": 1,
    "kw_per_server": 1.0,
    "pue": 1.0,
    "facility_usd_per_mw": 876_000.0,
    "hardware_usd_per_accelerator": 43_800.0,
    "facility_lifetime_years": 10,
    "hardware_lifetime_years": 3,
    "fixed_om_share_per_year": 0.01,
    "electricity_usd_per_mwh": 100.0,
    "lead_time_periods": 0,
}
