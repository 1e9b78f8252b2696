"""The offers table: bundled ``gpu_offers.csv`` merged with user and SkyPilot rows, plus derived
per-GPU prices, commitment prices, power and geography.

One row per offer, indexed by ``offer_id`` = ``provider:region:instance_type``. Merge order:
bundled, then SkyPilot catalogs (in the order given), then user CSVs (in the order given); a later
row replaces an earlier one with the same ``offer_id`` (compared case-insensitively), new ids are
appended. All derived columns are computed on whole columns at once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from hyperplan.catalog.accelerators import DATA_DIR, normalize_accelerator
from hyperplan.catalog.discounts import reserved_prices
from hyperplan.catalog.geo import geo_series
from hyperplan.catalog.importers import RAW_COLUMNS, RAW_NUMBERS, SPEC_COLUMNS
from hyperplan.catalog.power import kw_per_instance

#: Columns of the offers table, in order (units in the names).
OFFER_COLUMNS: tuple[str, ...] = (
    *SPEC_COLUMNS,
    "reserved_basis",
    "usd_per_gpu_hour",
    "spot_usd_per_gpu_hour",
    "kw_per_instance",
    "kw_basis",
    "geo",
    "priced",
    "source",
    "origin",
)


@functools.cache
def _bundled_raw_cached() -> pd.DataFrame:
    df = pd.read_csv(DATA_DIR / "gpu_offers.csv", keep_default_na=False, na_values=[""])
    names = df["accelerator"].fillna("").astype(str)
    table = {n: normalize_accelerator(n) for n in names.unique()}
    out = pd.DataFrame(
        {
            "provider": df["provider"].astype(str).str.lower(),
            "region": df["region"].astype(str),
            "instance_type": df["instance_type"].astype(str),
            "accelerator": names.map(table),
            "accelerators": df["accelerators_per_instance"].astype(int),
            "vcpus": df["vcpus"].astype(float),
            "memory_gib": df["memory_gib"].astype(float),
            "ondemand_usd_per_hour": df["ondemand_usd_per_hour"].astype(float),
            "spot_usd_per_hour": df["spot_usd_per_hour"].astype(float),
            "reserved_1y_usd_per_hour": np.nan,
            "reserved_3y_usd_per_hour": np.nan,
            "kw_per_instance_user": np.nan,
            "source": df["source"].astype(str),
            "origin": "bundled",
        }
    )
    return out.loc[:, list(RAW_COLUMNS)]


def bundled_raw() -> pd.DataFrame:
    """The bundled ``gpu_offers.csv`` as a raw offers frame (fresh copy of a cached table)."""
    return _bundled_raw_cached().copy()


def merge_raw(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate raw offer frames; later rows replace earlier ones with the same offer id.

    Args:
        frames: raw offers frames in precedence order (lowest first).

    Returns:
        The merged raw frame indexed by ``offer_id``; replaced rows keep their original position.
    """
    parts = [f for f in frames if len(f)]
    if not parts:
        merged = pd.DataFrame({c: pd.Series([], dtype=object) for c in RAW_COLUMNS})
    else:
        merged = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()
    offer_id = merged["provider"] + ":" + merged["region"] + ":" + merged["instance_type"]
    key = offer_id.str.lower()
    # Position of the first occurrence, content of the last one.
    first_pos = pd.Series(np.arange(len(key))).groupby(key.to_numpy()).transform("first")
    keep_last = ~key.duplicated(keep="last").to_numpy()
    result = merged[keep_last].copy()
    result.index = pd.Index(offer_id[keep_last].to_numpy(), name="offer_id")
    order = np.argsort(first_pos.to_numpy()[keep_last], kind="stable")
    return result.iloc[order]


def derive_offers(raw: pd.DataFrame, specs: pd.DataFrame, discounts: pd.DataFrame) -> pd.DataFrame:
    """Add the derived columns to a merged raw frame.

    Args:
        raw: merged raw offers (from :func:`merge_raw`), indexed by ``offer_id``.
        specs: accelerator specs (``tdp_w``, ``source``, ...), indexed by canonical name.
        discounts: the commitment discount table.

    Returns:
        The offers table with :data:`OFFER_COLUMNS`.
    """
    df = raw.copy()
    df["accelerators"] = df["accelerators"].astype(int)
    for c in (*RAW_NUMBERS, "kw_per_instance_user"):
        df[c] = df[c].astype(float)
    n = len(df)
    count = df["accelerators"].to_numpy(dtype=float)
    gpu = count > 0
    od = df["ondemand_usd_per_hour"].to_numpy()
    spot = df["spot_usd_per_hour"].to_numpy()

    # Commitment prices: rule-based, then user values win cell by cell. A row of a user CSV
    # takes no rule: its blank reserved price means "not offered", never a borrowed discount
    # (the bundled catalog keeps its rule-based rates, flagged in reserved_basis).
    r1, r3, basis = reserved_prices(df, discounts)
    u1 = df["reserved_1y_usd_per_hour"].to_numpy()
    u3 = df["reserved_3y_usd_per_hour"].to_numpy()
    has_u1, has_u3 = ~np.isnan(u1), ~np.isnan(u3)
    user_row = df["origin"].astype(str).str.startswith("user:").to_numpy()
    not_offered = "none: blank in the user CSV (not offered)"
    basis = np.where(user_row, not_offered, basis)
    r1 = np.where(has_u1, u1, np.where(user_row, np.nan, r1))
    r3 = np.where(has_u3, u3, np.where(user_row, np.nan, r3))
    basis = np.where(has_u1 & has_u3, "user", basis)
    basis = np.where(has_u1 & ~has_u3, "user (1y); 3y: " + basis.astype(object), basis)
    basis = np.where(~has_u1 & has_u3, "user (3y); 1y: " + basis.astype(object), basis)
    df["reserved_1y_usd_per_hour"] = r1
    df["reserved_3y_usd_per_hour"] = r3
    df["reserved_basis"] = pd.array(basis, dtype=str) if n else pd.array([], dtype=str)

    per_gpu = np.full(n, np.nan)
    np.divide(od, count, out=per_gpu, where=gpu)
    df["usd_per_gpu_hour"] = per_gpu
    spot_gpu = np.full(n, np.nan)
    np.divide(spot, count, out=spot_gpu, where=gpu)
    df["spot_usd_per_gpu_hour"] = spot_gpu

    kw, kw_basis = kw_per_instance(df, specs)
    user_kw = df["kw_per_instance_user"].to_numpy()
    has_ukw = ~np.isnan(user_kw)
    df["kw_per_instance"] = np.where(has_ukw, user_kw, kw)
    df["kw_basis"] = pd.array(np.where(has_ukw, "user", kw_basis), dtype=str)

    df["geo"] = geo_series(df["provider"], df["region"])
    df["priced"] = ~np.isnan(od) | ~np.isnan(r1) | ~np.isnan(r3)
    for c in ("provider", "region", "instance_type", "accelerator", "source", "origin"):
        df[c] = df[c].astype(str)
    return df.loc[:, list(OFFER_COLUMNS)]


@functools.cache
def _bundled_offers_cached() -> pd.DataFrame:
    from hyperplan.catalog.accelerators import _specs_cached
    from hyperplan.catalog.discounts import _discounts_cached

    return derive_offers(merge_raw([_bundled_raw_cached()]), _specs_cached(), _discounts_cached())


def bundled_offers() -> pd.DataFrame:
    """The bundled offers with derived columns (fresh copy of a cached table)."""
    return _bundled_offers_cached().copy()
