"""The numbers people read first, computed once from a :class:`Plan` for terminal and HTML alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hyperplan.plan.api import Plan
from hyperplan.report import fmt


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

    @property
    def spend_per_year(self) -> pd.Series:
        """Nominal spend per calendar year, USD (index: year)."""
        if not len(self.spend_year_provider):
            return pd.Series(dtype=float, name="usd")
        return self.spend_year_provider.sum(axis=1).rename("usd")

    @property
    def npv_per_year(self) -> pd.Series:
        """Present value of each calendar year's spend, USD (index: year)."""
        spend = self.plan.tables["spend"]
        if not len(spend):
            return pd.Series(dtype=float, name="usd_discounted")
        return spend.groupby("year")["usd_discounted"].sum()

    @property
    def target_reached(self) -> float | None:
        """Peak power as a fraction of the target (None without a target)."""
        return self.peak_mw / self.target_mw if self.target_mw else None

    def outage_served(self) -> pd.DataFrame:
        """Per outage scenario: the worst-served workload (furthest below its required level,
        then least served), its served and required fractions.

        Columns: scenario, workload, served_fraction, required_fraction, met (one row per
        scenario other than base, in the plan's scenario order).
        """
        res = self.plan.tables["resilience"]
        cols = ["scenario", "workload", "served_fraction", "required_fraction", "met"]
        out = res[res["scenario"] != "base"] if len(res) else res
        if not len(out):
            return pd.DataFrame(columns=cols)
        # the workload furthest below its requirement; among equals, the least served
        out = out.assign(_gap=out["served_fraction"] - out["required_fraction"])
        out = out.sort_values(["_gap", "served_fraction"], kind="stable")
        worst = out.groupby("scenario", sort=False).head(1)
        order = [s for s in self.plan.context.scenarios if s in set(worst["scenario"])]
        if order:
            worst = worst.set_index("scenario").loc[order].reset_index()
        return worst[cols].reset_index(drop=True)

    def outage_mix(self) -> pd.DataFrame:
        """Per outage scenario and workload: shares of demand served by reserved (and owned)
        capacity, by on-demand and spot bursts, unserved, and the bursts' USD per hour (the
        plan's ``outage_mix`` table without the base rows; empty for plans without it)."""
        mix = self.plan.tables.get("outage_mix")
        if mix is None or not len(mix):
            return pd.DataFrame(columns=list(mix.columns) if mix is not None else [])
        return mix[mix["scenario"] != "base"].reset_index(drop=True)

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

    def risks(self, n: int = 3) -> list[str]:
        """The ``n`` biggest risks in plain words, most serious first.

        In order of weight: demand unmet in the base plan; a workload below its required level
        under an outage; unused take-or-pay commitments (shortfall paid); a provider above half
        of spend; peak power short of the target; commitments running far past the horizon;
        the worst single outage; the costliest binding limit.
        """
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
        spend = self.plan.tables["spend"]
        if len(spend) and self.total_usd > 0:
            unused = spend[spend["market"] == "shortfall"].groupby("provider")["usd"].sum()
            for provider, amount in unused.items():
                if amount > 0.01 * self.total_usd:
                    out.append(
                        (
                            6 + amount / self.total_usd,
                            f"{fmt.usd(amount)} committed to {provider} goes unused "
                            "(take-or-pay shortfall paid)",
                        )
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
        com = self.plan.tables["commitments"]
        if len(com) and self.total_usd > 0:
            beyond = float((com["contract_value_usd"] - com["in_horizon_usd"]).clip(lower=0).sum())
            if beyond > 0.25 * self.total_usd:
                periods = self.plan.context.periods
                end = f" (after {periods[-1]})" if periods else ""
                out.append(
                    (
                        3.5,
                        f"{fmt.usd(beyond)} of new commitments fall due after the horizon{end}: "
                        "demand beyond it must use them",
                    )
                )
        outage = res[res["scenario"] != "base"] if len(res) else res
        # the worst outage, unless it is already told as a shortfall above
        told = set(zip(short["workload"], short["scenario"], strict=True)) if len(short) else set()
        worst = outage.loc[outage["served_fraction"].idxmin()] if len(outage) else None
        if worst is not None and (worst["workload"], worst["scenario"]) not in told:
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
        return [text for _, text in out[:n]]


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
    target = plan.context.target_gw
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
