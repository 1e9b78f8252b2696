"""Commitment (1-year / 3-year) prices from on-demand prices and the discount table.

Rule (numbers from ``commitment_discounts.csv``; see ``docs/catalog.md``):

    reserved_Ny_usd_per_hour = ondemand_usd_per_hour x (1 - discount_Ny)

1. Instance-specific GCP rows where the machine family matches: A3 High ``a3-highgpu-*`` 0.306 /
   0.561, A3 Mega ``a3-megagpu-*`` 0.312 / 0.564, G2 ``g2-*`` 0.37 / 0.55, C3/C3D/C4/N4 0.37 / 0.55,
   N2 ``n2-*`` 0.37 / 0.55.
2. Otherwise *borrowed*: GPU/accelerator instances get the only sourced GPU commitment rate, GCP
   A3 High's (0.306 / 0.561); CPU-only instances get GCP's C3/C3D/C4/N4 CPU CUD (0.37 / 0.55).
   The "(maximum)" headline rows (AWS 0.66/0.72, Azure 0.72/0.65, GCP 0.57/0.70) are best cases
   for other products and are never applied.
3. No reserved price (NaN) for OCI bare-metal shapes (``BM.*``: OCI publishes no commitment
   percentage) and for every offer without an on-demand price: no price is invented.

User CSVs may give ``reserved_1y_usd_per_hour`` / ``reserved_3y_usd_per_hour``; those win.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hyperplan.catalog.accelerators import DATA_DIR


@dataclass(frozen=True)
class CommitmentRule:
    """A GCP machine family with its own row in ``commitment_discounts.csv``.

    Attributes:
        provider: provider the rule applies to.
        pattern: regular expression matched against ``instance_type`` (from its start).
        commitment: the ``commitment`` cell of the CSV rows holding the 1y and 3y rates.
        label: short name used in ``reserved_basis``.
    """

    provider: str
    pattern: str
    commitment: str
    label: str


#: Instance-specific rules, first match wins.
SPECIFIC_RULES: tuple[CommitmentRule, ...] = (
    CommitmentRule("gcp", r"a3-highgpu-", "Resource-based CUD: A3 High (H100)", "gcp A3 High CUD"),
    CommitmentRule("gcp", r"a3-megagpu-", "Resource-based CUD: A3 Mega (H100)", "gcp A3 Mega CUD"),
    CommitmentRule("gcp", r"g2-", "Resource-based CUD: G2 (L4)", "gcp G2 CUD"),
    CommitmentRule(
        "gcp",
        r"(?:c3|c3d|c4|n4)-",
        "Resource-based CUD: C3 / C3D / C4 / N4 (CPU)",
        "gcp C3/C3D/C4/N4 CPU CUD",
    ),
    CommitmentRule("gcp", r"n2-", "Resource-based CUD: N2 (CPU)", "gcp N2 CUD"),
)

#: Borrowed for accelerator instances without a rule of their own.
GPU_FALLBACK: CommitmentRule = SPECIFIC_RULES[0]
#: Borrowed for CPU-only instances without a rule of their own.
CPU_FALLBACK: CommitmentRule = SPECIFIC_RULES[3]


@functools.cache
def _discounts_cached() -> pd.DataFrame:
    df = pd.read_csv(DATA_DIR / "commitment_discounts.csv", dtype={"term_years": str})
    df["term_years"] = df["term_years"].fillna("")
    return df


def load_discounts() -> pd.DataFrame:
    """``commitment_discounts.csv`` as a DataFrame (fresh copy of a cached table).

    Returns:
        Columns ``provider``, ``commitment``, ``term_years`` (str: ``1``, ``3``, ``1-3``, ``0`` or
        ``""``), ``discount_vs_ondemand`` (fraction off on-demand, NaN when not fixed),
        ``applies_to``, ``source``.
    """
    return _discounts_cached().copy()


def rule_rates(rule: CommitmentRule, discounts: pd.DataFrame) -> tuple[float, float]:
    """1-year and 3-year discount fractions of ``rule`` from the discount table.

    Args:
        rule: the rule.
        discounts: the table of :func:`load_discounts`.

    Returns:
        ``(discount_1y, discount_3y)`` as fractions off on-demand.

    Raises:
        KeyError: when the table lacks the rule's rows (a corrupt bundled file).
    """
    rows = discounts[
        (discounts["provider"] == rule.provider) & (discounts["commitment"] == rule.commitment)
    ]
    rates: dict[str, float] = {}
    for term in ("1", "3"):
        hit = rows.loc[rows["term_years"] == term, "discount_vs_ondemand"]
        if hit.empty or pd.isna(hit.iloc[0]):
            raise KeyError(f"commitment_discounts.csv has no {term}y row for {rule.commitment!r}")
        rates[term] = float(hit.iloc[0])
    return rates["1"], rates["3"]


def reserved_prices(
    offers: pd.DataFrame, discounts: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reserved 1y/3y prices and their basis for each offer (vectorised).

    User-given reserved prices are *not* applied here (see :mod:`hyperplan.catalog.offers`).

    Args:
        offers: frame with ``provider``, ``instance_type``, ``accelerators`` (count) and
            ``ondemand_usd_per_hour``.
        discounts: the table of :func:`load_discounts`.

    Returns:
        ``(reserved_1y, reserved_3y, basis)``: USD per instance-hour (NaN when no rule applies)
        and the basis text per row.
    """
    n = len(offers)
    provider = offers["provider"].astype(str).str.lower()
    itype = offers["instance_type"].astype(str)
    ondemand = offers["ondemand_usd_per_hour"].to_numpy(dtype=float)
    has_acc = offers["accelerators"].to_numpy(dtype=float) > 0

    d1 = np.full(n, np.nan)
    d3 = np.full(n, np.nan)
    basis = np.full(n, "", dtype=object)
    assigned = np.zeros(n, dtype=bool)

    for rule in SPECIFIC_RULES:
        r1, r3 = rule_rates(rule, discounts)
        hit = ~assigned & (provider == rule.provider).to_numpy() & itype.str.match(rule.pattern)
        hit = np.asarray(hit, dtype=bool)
        d1[hit], d3[hit] = r1, r3
        basis[hit] = f"{rule.label} 1y {r1:g} / 3y {r3:g} (commitment_discounts.csv)"
        assigned |= hit

    prov = provider.to_numpy(dtype=object)
    who = np.where(prov == "gcp", "this gcp family", prov).astype(object)
    for rule, mask, kind in (
        (GPU_FALLBACK, ~assigned & has_acc, "GPU"),
        (CPU_FALLBACK, ~assigned & ~has_acc, "CPU"),
    ):
        r1, r3 = rule_rates(rule, discounts)
        d1[mask], d3[mask] = r1, r3
        head = f"borrowed: {rule.label} 1y {r1:g} / 3y {r3:g} (no published {kind} rate for "
        basis[mask] = head + who[mask] + ")"
        assigned |= mask

    oci_bm = np.asarray((provider == "oci").to_numpy() & itype.str.startswith("BM.").to_numpy())
    d1[oci_bm] = d3[oci_bm] = np.nan
    basis[oci_bm] = "none: OCI publishes no commitment rate for bare-metal shapes"

    no_od = np.isnan(ondemand)
    basis[no_od] = "none: no on-demand price to discount"

    r1 = ondemand * (1.0 - d1)
    r3 = ondemand * (1.0 - d3)
    return r1, r3, basis
