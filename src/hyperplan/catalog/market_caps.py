"""Default on-demand and spot ceilings: how much of an offer a market sells, per period.

The planner must not assume that any number of instances can be had on demand at list price:
that makes N-1 resilience almost free. ``market_caps.csv`` (bundled, next to the offers) gives a
default ceiling per offer, region and period for the ``ondemand`` and ``spot`` markets; the
scenario's ``offers.ondemand_cap`` / ``offers.spot_cap`` (and the per-offer overrides) replace
it, and ``unlimited`` must be written to lift it.

CSV columns:

* ``provider``: a provider name, or ``*`` for every provider;
* ``accelerator``: an accelerator name (``H100``), ``gpu`` (any accelerator), ``cpu``
  (CPU-only offers) or ``*``;
* ``market``: ``ondemand`` or ``spot``;
* ``cap`` and ``unit``: the ceiling in ``instances``, ``gpus`` (accelerators) or ``vcpus``;
  converted to whole instances of each offer (rounded down);
* ``growth_per_year``: fractional growth of the ceiling per year (0 = constant);
* ``basis``: ``[A]`` for an assumption, else the source; ``note``: the reasoning.

The most specific row wins (a named provider over ``*``; a named accelerator over ``gpu`` /
``cpu`` over ``*``). An offer no row matches has no default ceiling (unlimited).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hyperplan.catalog.accelerators import DATA_DIR, normalize_accelerator

MARKET_CAPS_CSV = DATA_DIR / "market_caps.csv"
#: the markets an offer is bought in, in the order of every ``(…, 3, …)`` market axis
MARKETS = ("reserved", "ondemand", "spot")
#: indices into :data:`MARKETS`
RESERVED, ONDEMAND, SPOT = 0, 1, 2
#: the markets with a ceiling per offer and period (reserved capacity is bought by term)
CAP_MARKETS = MARKETS[ONDEMAND:]
CAP_UNITS = ("instances", "gpus", "vcpus")


@functools.lru_cache(maxsize=1)
def _market_caps_cached() -> pd.DataFrame:
    df = pd.read_csv(MARKET_CAPS_CSV, dtype={"provider": str, "accelerator": str})
    df["growth_per_year"] = df["growth_per_year"].fillna(0.0).astype(float)
    bad = ~df["market"].isin(CAP_MARKETS) | ~df["unit"].isin(CAP_UNITS)
    if bad.any():  # a bundled file: a defect of the package, not of the user's input
        raise ValueError(f"{MARKET_CAPS_CSV}: bad market or unit in rows {list(df.index[bad])}")
    return df


def load_market_caps() -> pd.DataFrame:
    """The bundled ``market_caps.csv`` (a copy)."""
    return _market_caps_cached().copy()


@dataclass
class DefaultCaps:
    """Default ceilings of each offer in one market.

    Attributes:
        instances: (O,) instances obtainable in the first period (inf = no default row).
        growth_per_year: (O,) fractional growth per year of that ceiling.
        basis: (O,) text: ``"[A] 64 gpus per offer, region and period"`` or ``""`` (no row).
    """

    instances: np.ndarray
    growth_per_year: np.ndarray
    basis: np.ndarray


def default_caps(
    offers: pd.DataFrame, market: str, table: pd.DataFrame | None = None
) -> DefaultCaps:
    """Default ceilings of ``offers`` (catalog rows) in ``market`` (``ondemand`` or ``spot``).

    Loops over the CSV's rows (a handful), never over offers.
    """
    table = load_market_caps() if table is None else table
    O = len(offers)
    inst = np.full(O, np.inf)
    growth = np.zeros(O)
    basis = np.full(O, "", dtype=object)
    rank = np.full(O, -1)
    provider = offers["provider"].astype(str).str.lower().to_numpy()
    acc = offers["accelerator"].fillna("").astype(str).to_numpy()
    gpus = offers["accelerators"].to_numpy(dtype=float)
    vcpus = offers["vcpus"].to_numpy(dtype=float)
    for row in table[table["market"] == market].itertuples(index=False):
        want_p = str(row.provider).strip().lower()
        want_a = str(row.accelerator).strip()
        mask = np.ones(O, dtype=bool) if want_p == "*" else provider == want_p
        if want_a == "*":
            score = 0
        elif want_a.lower() == "gpu":
            mask &= acc != ""
            score = 1
        elif want_a.lower() == "cpu":
            mask &= acc == ""
            score = 1
        else:
            mask &= acc == normalize_accelerator(want_a)
            score = 2
        score += 3 * (want_p != "*")
        mask &= score >= rank  # later rows of equal rank win (file order)
        if row.unit == "instances":
            per = np.ones(O)
        elif row.unit == "gpus":
            per = gpus
        else:
            per = np.nan_to_num(vcpus, nan=np.inf)  # unknown vCPUs: no instance fits the cap
        with np.errstate(divide="ignore", invalid="ignore"):
            count = np.floor(float(row.cap) / np.where(per > 0, per, np.nan))
        count = np.where(np.isfinite(count), count, 0.0)
        inst[mask] = count[mask]
        growth[mask] = float(row.growth_per_year)
        basis[mask] = f"{row.basis} {float(row.cap):g} {row.unit} per offer, region and period"
        rank[mask] = score
    return DefaultCaps(inst, growth, basis)
