"""Sourced defaults for owning capacity: ``owned_capacity_costs.csv``.

The CSV holds one number per row in the source's own unit (``data/SOURCES.md``,
"owned_capacity_costs.csv"). This module reads it as it is (empty cells stay NaN) and picks the
few rows an owned site takes as defaults, converting them to the planner's units:

================================  ==========================  ===================================
default                           row taken                   conversion
================================  ==========================  ===================================
``facility_usd_per_mw``           dc_construction_cost_per_   million USD per MW of critical (IT)
                                  mw_critical_load, US avg.   load × 1e6 = USD per IT MW
``electricity_usd_per_mwh``       electricity_price_          US cents per kWh × 10 = USD per MWh
                                  industrial, Virginia
``pue``                           pue, Uptime industry avg.   ratio
``hardware_lifetime_years``       server_useful_life, Amazon  years (the most recent change, made
                                  2025                        for the pace of AI hardware)
hardware per accelerator          gpu_price_per_accelerator   USD per GPU (8-GPU system / 8);
                                  (H100, H200, B200, MI300X)  GB200: rack price (low end) / 72
================================  ==========================  ===================================

There is no sourced row for a facility's lifetime, for fixed O&M or for the lead time from a
decision to first power of a new campus, so an owned site must state those itself.

Examples:
    >>> from hyperplan.catalog.owned import hardware_usd_per_accelerator, owned_defaults
    >>> owned_defaults()["facility_usd_per_mw"].value
    11700000.0
    >>> round(hardware_usd_per_accelerator("H100").value, 2)
    31904.63
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hyperplan.catalog.accelerators import DATA_DIR, normalize_accelerator

OWNED_CSV = DATA_DIR / "owned_capacity_costs.csv"


@dataclass(frozen=True)
class Sourced:
    """A default in the planner's unit, with the CSV row it comes from."""

    value: float
    unit: str
    item: str
    applies_to: str
    source: str

    @property
    def basis(self) -> str:
        """``item (applies_to): source`` in one line, for tables."""
        return f"{self.item} ({self.applies_to}): {self.source}"


@functools.cache
def _costs_cached() -> pd.DataFrame:
    df = pd.read_csv(OWNED_CSV, keep_default_na=False, na_values=[""], dtype={"year": str})
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    return df


def owned_costs() -> pd.DataFrame:
    """The whole ``owned_capacity_costs.csv`` (a fresh copy): item, value, unit, applies_to,
    year, source. Values in the source's unit; empty cells are NaN."""
    return _costs_cached().copy()


def _row(item: str, applies_contains: str) -> pd.Series:
    df = _costs_cached()
    sel = df[(df["item"] == item) & df["applies_to"].str.contains(applies_contains, regex=False)]
    if sel.empty:  # pragma: no cover - the bundled file has these rows
        raise KeyError(f"owned_capacity_costs.csv has no {item} row for {applies_contains!r}")
    return sel.iloc[0]


def _sourced(row: pd.Series, value: float, unit: str) -> Sourced:
    return Sourced(
        value=float(value),
        unit=unit,
        item=str(row["item"]),
        applies_to=str(row["applies_to"]),
        source=str(row["source"]),
    )


@functools.cache
def _defaults_cached() -> dict[str, Sourced]:
    facility = _row("dc_construction_cost_per_mw_critical_load", "average of 19 markets")
    power = _row("electricity_price_industrial", "Virginia")
    pue = _row("pue", "Uptime Institute")
    life = _row("server_useful_life", "Amazon")
    return {
        "facility_usd_per_mw": _sourced(facility, facility["value"] * 1e6, "USD per MW of IT load"),
        "electricity_usd_per_mwh": _sourced(power, power["value"] * 10.0, "USD per MWh"),
        "pue": _sourced(pue, pue["value"], "ratio"),
        "hardware_lifetime_years": _sourced(life, life["value"], "years"),
    }


def owned_defaults() -> dict[str, Sourced]:
    """The defaults an owned site takes for the fields it leaves out (see the module table)."""
    return dict(_defaults_cached())


@functools.cache
def _hardware_cached() -> dict[str, Sourced]:
    df = _costs_cached()
    out: dict[str, Sourced] = {}
    for _, row in df[df["item"] == "gpu_price_per_accelerator"].iterrows():
        for token in str(row["applies_to"]).replace(",", " ").split():
            try:
                name = normalize_accelerator(token)
            except KeyError:
                continue
            if name not in out and np.isfinite(row["value"]):
                out[name] = _sourced(row, row["value"], "USD per accelerator")
            break
    racks = df[(df["item"] == "gpu_rack_price") & df["applies_to"].str.contains("GB200")]
    if len(racks) and "GB200" not in out:
        row = racks.loc[racks["value"].idxmin()]  # the low end of the quoted range
        out["GB200"] = _sourced(row, row["value"] / 72.0, "USD per accelerator (rack / 72)")
    return out


def hardware_usd_per_accelerator(accelerator: str) -> Sourced | None:
    """Sourced hardware price per accelerator (server included), or ``None`` when no row gives
    one for this accelerator (then an owned site must state ``hardware_usd_per_accelerator``)."""
    try:
        name = normalize_accelerator(accelerator)
    except KeyError:
        return None
    return _hardware_cached().get(name)


def crf(rate: float, years: float) -> float:
    """Capital recovery factor: the level yearly payment that repays 1 USD over ``years`` at
    ``rate`` a year, ``r (1 + r)^n / ((1 + r)^n − 1)``; ``1 / n`` when ``r = 0``.

    >>> round(crf(0.08, 5), 6)
    0.250456
    """
    if years <= 0:
        raise ValueError(f"a lifetime must be > 0 years; found {years}")
    if rate == 0:
        return 1.0 / years
    growth = (1.0 + rate) ** years
    return rate * growth / (growth - 1.0)
