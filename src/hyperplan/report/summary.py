"""The numbers people read first, computed once from a :class:`Plan` for terminal and HTML alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hyperplan.plan.api import Plan


@dataclass
class Summary:
    """Headline figures of a plan (USD nominal unless named ``npv``; power in MW)."""

    plan: Plan
    total_usd: float
    npv_usd: float
    max_share: float
    peak_mw: float
    target_mw: float | None
    spend_year_provider: pd.DataFrame  # index year, columns providers, USD
    resilience_matrix: pd.DataFrame  # index workload, columns scenarios, served fraction
    warnings: list[str]

    def top_commitments(self, n: int) -> pd.DataFrame:
        """The ``n`` largest commitments by contract value."""
        com = self.plan.tables["commitments"]
        return com.nlargest(n, "contract_value_usd") if len(com) else com

    def binding_policies(self, n: int) -> pd.DataFrame:
        """The ``n`` binding policy rows with the largest marginal cost."""
        pol = self.plan.tables.get("policies")
        if pol is None or not len(pol):
            return pd.DataFrame(columns=["policy", "subject", "period", "marginal_usd", "per"])
        return pol.nlargest(n, "marginal_usd")

    def risks(self) -> list[str]:
        """The three biggest risks in plain words."""
        out: list[tuple[float, str]] = []
        res = self.plan.tables["resilience"]
        short = res[~res["met"].astype(bool)] if len(res) else res
        for _, r in short.iterrows():
            gap = float(r["required_fraction"] - r["served_fraction"])
            out.append(
                (
                    10 + gap,
                    f"{r['workload']} serves only {r['served_fraction']:.0%} of demand when {r['scenario'].replace(' down', '')} is down (needs {r['required_fraction']:.0%})",
                )
            )
        uns = self.plan.tables["unserved"]
        base = uns[uns["scenario"] == "base"] if len(uns) else uns
        for w, grp in base.groupby("workload") if len(base) else []:
            out.append(
                (20, f"{w}: demand cannot be met in the base plan ({len(grp)} period(s) short)")
            )
        if self.max_share > 0.5 + 1e-6:
            out.append(
                (
                    5 + self.max_share,
                    f"one provider holds {self.max_share:.0%} of spend in some period",
                )
            )
        if self.target_mw and self.peak_mw < self.target_mw:
            out.append(
                (
                    4,
                    f"peak power {self.peak_mw / 1000:.1f} GW falls short of the {self.target_mw / 1000:.0f} GW target",
                )
            )
        outage = res[res["scenario"] != "base"] if len(res) else res
        if len(outage):
            worst = outage.loc[outage["served_fraction"].idxmin()]
            out.append(
                (
                    3,
                    f"the worst single outage is {worst['scenario'].replace(' down', '')}: {worst['workload']} keeps {worst['served_fraction']:.0%}",
                )
            )
        pol = self.binding_policies(1)
        if len(pol):
            r = pol.iloc[0]
            out.append(
                (
                    2,
                    f"the costliest binding limit is {r['policy']} on {r['subject']} ({r['period']})",
                )
            )
        out.sort(key=lambda x: -x[0])
        return [text for _, text in out[:3]]


def summarize(plan: Plan) -> Summary:
    """Compute the :class:`Summary` of a plan."""
    spend = plan.tables["spend"]
    by_year = (
        spend.groupby(["year", "provider"])["usd"].sum().unstack(fill_value=0.0)
        if len(spend)
        else pd.DataFrame()
    )
    cap = plan.tables["capacity"]
    peak = float(cap.groupby("period_index")["mw"].sum().max()) if len(cap) else 0.0
    res = plan.tables["resilience"]
    if len(res):
        matrix = res.pivot_table(
            index="workload", columns="scenario", values="served_fraction", aggfunc="min"
        )
        order = ["base"] + [c for c in matrix.columns if c != "base"]
        matrix = matrix[[c for c in order if c in matrix.columns]]
    else:
        matrix = pd.DataFrame()
    target = plan.meta.get("target_gw")
    return Summary(
        plan=plan,
        total_usd=plan.total_usd,
        npv_usd=plan.total_usd_discounted,
        max_share=plan.max_provider_share,
        peak_mw=peak,
        target_mw=float(target) * 1000 if target else None,
        spend_year_provider=by_year,
        resilience_matrix=matrix,
        warnings=list(plan.warnings) + _unserved_warnings(plan),
    )


def _unserved_warnings(plan: Plan) -> list[str]:
    uns = plan.tables["unserved"]
    if not len(uns):
        return []
    base = uns[uns["scenario"] == "base"]
    out = []
    for (w, unit), grp in base.groupby(["workload", "unit"]):
        out.append(
            f"unserved demand: {w} is short by up to {np.max(grp['amount']):,.0f} {unit} in {len(grp)} period(s)"
        )
    return out
