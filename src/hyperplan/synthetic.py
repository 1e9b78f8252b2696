"""Synthetic catalogs and scenarios of any size, for benchmarks and property tests.

Deterministic for a given seed. Prices are drawn around real H100/GB200 list prices so the model's
numerical ranges resemble real ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hyperplan.catalog import Catalog, load_catalog
from hyperplan.catalog.offers import OFFER_COLUMNS
from hyperplan.scenario.schema import Scenario

_ACCELERATORS = ("H100", "H200", "B200", "GB200")
_BASE_PRICE = {"H100": 6.9, "H200": 7.9, "B200": 11.0, "GB200": 16.0}  # USD per GPU-hour
_TOKENS = {"H100": 3900.0, "H200": 4400.0, "B200": 12700.0, "GB200": 12900.0}  # per GPU, 70B


def synthetic_catalog(
    providers: int = 4, regions: int = 2, offers_per_region: int = 4, seed: int = 0
) -> Catalog:
    """A catalog of ``providers × regions × offers_per_region`` GPU offers plus one CPU offer per region."""
    rng = np.random.default_rng(seed)
    base = load_catalog()
    rows = []
    for p in range(providers):
        for r in range(regions):
            region = f"{'us' if r % 2 == 0 else 'eu'}-r{r}"
            for k in range(offers_per_region):
                acc = _ACCELERATORS[k % len(_ACCELERATORS)]
                n = 8 if acc != "GB200" else 4
                od = _BASE_PRICE[acc] * n * rng.uniform(0.7, 1.4)
                rows.append(
                    {
                        "provider": f"p{p}",
                        "region": region,
                        "instance_type": f"gpu-{acc.lower()}-{k}",
                        "accelerator": acc,
                        "accelerators": n,
                        "vcpus": 192.0,
                        "memory_gib": 2048.0,
                        "ondemand_usd_per_hour": od,
                        "spot_usd_per_hour": od * 0.4,
                        "reserved_1y_usd_per_hour": od * 0.694,
                        "reserved_3y_usd_per_hour": od * 0.439,
                        "reserved_basis": "synthetic",
                        "kw_per_instance": n * 1.275,
                        "kw_basis": "synthetic",
                        "geo": region[:2],
                        "source": "synthetic",
                        "origin": "synthetic",
                    }
                )
            od = 8.0 * rng.uniform(0.8, 1.2)
            rows.append(
                {
                    "provider": f"p{p}",
                    "region": region,
                    "instance_type": "cpu-192",
                    "accelerator": "",
                    "accelerators": 0,
                    "vcpus": 192.0,
                    "memory_gib": 768.0,
                    "ondemand_usd_per_hour": od,
                    "spot_usd_per_hour": od * 0.5,
                    "reserved_1y_usd_per_hour": od * 0.63,
                    "reserved_3y_usd_per_hour": od * 0.45,
                    "reserved_basis": "synthetic",
                    "kw_per_instance": 0.96,
                    "kw_basis": "synthetic",
                    "geo": region[:2],
                    "source": "synthetic",
                    "origin": "synthetic",
                }
            )
    df = pd.DataFrame(rows)
    df["usd_per_gpu_hour"] = np.where(
        df["accelerators"] > 0,
        df["ondemand_usd_per_hour"] / df["accelerators"].clip(lower=1),
        np.nan,
    )
    df["spot_usd_per_gpu_hour"] = np.where(
        df["accelerators"] > 0, df["spot_usd_per_hour"] / df["accelerators"].clip(lower=1), np.nan
    )
    df["priced"] = True
    df.index = pd.Index(
        df["provider"] + ":" + df["region"] + ":" + df["instance_type"], name="offer_id"
    )
    df = df[[c for c in OFFER_COLUMNS if c in df.columns]]
    return Catalog(
        offers=df,
        accelerators=base.accelerators,
        throughput=base.throughput,
        discounts=base.discounts,
    )


def synthetic_scenario(
    providers: int = 4,
    workloads: int = 6,
    periods: int = 12,
    outages: bool = True,
    max_share: float | None = 0.5,
    seed: int = 0,
) -> Scenario:
    """A scenario over a :func:`synthetic_catalog`: inference, training and agents in a 3:2:1 mix."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(workloads):
        kind = ("inference", "inference", "inference", "training", "training", "agents")[i % 6]
        if kind == "inference":
            items.append(
                {
                    "name": f"serve-{i}",
                    "kind": "inference",
                    "demand_tokens_per_s": {
                        "start": float(rng.uniform(1e6, 5e6)),
                        "growth_per_year": float(rng.uniform(0.5, 2.0)),
                    },
                    "perf_tokens_per_s": dict(_TOKENS),
                    "resilience": 0.8,
                }
            )
        elif kind == "training":
            start = int(rng.integers(0, max(1, periods - 2)))
            length = int(rng.integers(2, 5))
            items.append(
                {
                    "name": f"train-{i}",
                    "kind": "training",
                    "compute_gpu_hours": float(rng.uniform(5e6, 5e7)),
                    "start": _period_date(start, periods),
                    "deadline": _period_date(min(periods, start + length), periods),
                }
            )
        else:
            items.append(
                {
                    "name": f"agents-{i}",
                    "kind": "agents",
                    "demand_vcpus": {"start": float(rng.uniform(1e5, 1e6)), "growth_per_year": 1.0},
                }
            )
    return Scenario.model_validate(
        {
            "name": "synthetic",
            "horizon": {
                "start": "2027-01-01",
                "period": "month",
                "periods": periods,
                "discount_rate": 0.08,
            },
            "providers": {f"p{p}": {} for p in range(providers)},
            # a solver benchmark at frontier scale: markets written unlimited, as the generator
            # always had them (the bundled default ceilings would leave most demand unserved)
            "offers": {"ondemand_cap": "unlimited", "spot_cap": "unlimited"},
            "workloads": items,
            "policies": {"max_share": max_share, "outages": "providers" if outages else "none"},
        }
    )


def _period_date(index: int, periods: int) -> str:
    year, month = divmod(index, 12)
    return f"{2027 + year}-{month + 1:02d}-01"
