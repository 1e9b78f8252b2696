"""``hyperplan replan SCENARIO --as-of YYYY-MM``: re-solve the rest of the horizon from what is known.

Inputs, all from the ledger (and the scenario):

1. the adopted plan: the plan run of the workspace's latest adoption;
2. the ledger's signed and active commitments: existing reservations
   (:func:`hyperplan.ledger.existing.scenario_from_ledger`), clipped to start at the as-of date;
3. each take-or-pay contract's remaining balance: committed USD − consumed to date (the
   burn-down of the imported actuals up to the as-of date), over ``[as_of, end)``; contracts
   ended before the as-of date are dropped;
4. observed demand: observed GPU-hours (FOCUS usage rows, ``Unused`` commitment rows left out)
   / the adopted plan's allocated GPU-hours over the same months before the as-of date. The
   bills name providers and offers, not workloads, so the ratio is attributed only when the
   scenario has exactly one GPU workload with a demand series (inference or batch); otherwise
   the forecast is kept and the output says why.

The scenario's horizon then starts at the as-of date (which must be one of its period starts):
every series is expanded over the original horizon and its remaining periods kept, training
runs whose deadline passed are dropped and running ones start at the as-of date with the
GPU-hours the adopted plan had not yet allocated to them. The diff against the adopted plan
compares the commitments starting at or after the as-of date that are not already held in the
ledger: *sign* (new), *grow*, *shrink* (down, or dropped), *shift provider* (a provider's
commitments of one accelerator and start shrink while another's grow), each with its reasons
(``price``: the unit price moved; ``demand``: the observed/planned ratio; ``at-risk contract``:
the provider has a contract heading for a shortfall and the change adds spend with it;
``re-solve``: none of those, the optimum moved) and its money effect (whole-term value after −
before, USD).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hyperplan.errors import InputError, Problem

if TYPE_CHECKING:
    from hyperplan.actuals.reader import FocusFrame
    from hyperplan.ledger.db import Ledger
    from hyperplan.plan.api import Plan
    from hyperplan.scenario.schema import Scenario

GPU_KINDS = ("inference", "training", "batch")
"""Workload kinds that run on GPUs (agents run on vCPUs)."""
DEMAND_FIELD = {"inference": "demand_tokens_per_s", "batch": "demand_gpus"}
"""The demand series of each workload kind the observed ratio can scale."""
REL_TOL = 1e-6
"""Relative change below which a quantity or price counts as unchanged."""
DIFF_COLUMNS = [
    "change",
    "provider",
    "region",
    "offer",
    "accelerator",
    "term_years",
    "start",
    "quantity_before",
    "quantity_after",
    "usd_per_hour_before",
    "usd_per_hour_after",
    "value_before_usd",
    "value_after_usd",
    "money_effect_usd",
    "reason",
]

SHOWN_COLUMNS = [
    "change",
    "provider",
    "region",
    "offer",
    "term_years",
    "start",
    "quantity_before",
    "quantity_after",
    "money_effect_usd",
    "reason",
]
"""The diff's columns a terminal table and the HTML report show (all are in the document)."""

SHOWN_UNITS = {
    "quantity_before": "instances",
    "quantity_after": "instances",
    "money_effect_usd": "USD (whole term)",
}
"""Units of :data:`SHOWN_COLUMNS` (a column not named has none)."""


def replan_summary(doc: dict[str, Any]) -> str:
    """One sentence of a replan document: changes, money effect (USD, whole-term value of
    commitments), commitments held and the re-solved plan's status and total (USD)."""
    changes = doc["changes"]
    total = math.fsum(float(c.get("money_effect_usd") or 0.0) for c in changes)
    plan = doc["plan"]
    return (
        f"{len(changes)} change(s); money effect {total:+,.2f} USD (whole-term value of "
        f"commitments); {doc['held_commitments']} signed or active commitment(s) held; "
        f"re-solved plan {plan['status']}, {plan['total_usd'] or 0.0:,.2f} USD"
    )


@dataclass
class Replan:
    """What ``replan`` found: the new plan, the diff and the inputs it used.

    Attributes:
        plan: the re-solved plan over the remaining horizon.
        diff: one row per change (:data:`DIFF_COLUMNS`), money in USD.
        as_of: first day of the as-of month.
        demand_ratio: observed / planned GPU-hours before the as-of date (NaN: no overlap).
        demand_scaled: the workload whose demand was scaled, or None.
        contracts: per contract: committed, consumed, remaining, shortfall (USD), at_risk.
        notes: what was done and what could not be (attribution, dropped runs, ...).
        warnings: what the user must act on (told first, on stderr): adopted capacity that
            the ledger does not hold.
    """

    plan: Plan
    diff: pd.DataFrame
    as_of: dt.date
    demand_ratio: float
    demand_scaled: str | None
    contracts: pd.DataFrame
    held: int
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self, *, include_plan: bool = False) -> dict[str, Any]:
        """The replan document (``hyperplan.replan/1``, read back by
        :func:`hyperplan.artifacts.replan.replan_from_dict`); the re-solved plan itself, the
        plan.json object, under ``plan_document`` with ``include_plan`` (a server job's result:
        the plan stays on the server otherwise; locally it is written with ``-o``)."""

        def clean(v: Any) -> Any:
            if hasattr(v, "item"):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        return {
            "schema": "hyperplan.replan/1",
            "as_of": self.as_of.isoformat(),
            "demand_ratio": clean(self.demand_ratio),
            "demand_scaled": self.demand_scaled,
            "held_commitments": self.held,
            "money_effect_usd": clean(float(self.diff["money_effect_usd"].sum())),
            "notes": self.notes,
            "warnings": self.warnings,
            "changes": [
                {k: clean(v) for k, v in r.items()} for r in self.diff.to_dict(orient="records")
            ],
            "contracts": [
                {k: clean(v) for k, v in r.items()}
                for r in self.contracts.to_dict(orient="records")
            ],
            "plan": {
                "status": self.plan.status,
                "total_usd": clean(float(self.plan.total_usd)),
            },
        } | ({"plan_document": self.plan.to_dict()} if include_plan else {})


def parse_as_of(text: str, path: str = "--as-of") -> dt.date:
    """``YYYY-MM`` (or ``YYYY-MM-01``) → the first day of that month; InputError (located at
    ``path``) otherwise."""
    t = text.strip()
    try:
        day = dt.date.fromisoformat(t + "-01" if len(t) == 7 else t)
    except ValueError:
        day = None
    if day is None or day.day != 1:
        raise InputError(
            [Problem(f"expected a month YYYY-MM (e.g. 2027-07); found {text!r}", path=path)]
        )
    return day


def check_as_of(scenario: Scenario, as_of: dt.date, path: str = "--as-of") -> int:
    """The index of the scenario's period that ``as_of`` starts (≥ 1: a period is past);
    InputError located at ``path`` otherwise."""
    from hyperplan.scenario.timeline import timeline

    starts = list(timeline(scenario.horizon).starts[:-1])
    if as_of not in starts:
        shown = ", ".join(d.strftime("%Y-%m") for d in starts[:12])
        raise InputError(
            [
                Problem(
                    f"the as-of month must start one of the scenario's periods ({shown}"
                    f"{', ...' if len(starts) > 12 else ''}); found {as_of:%Y-%m}",
                    path=path,
                )
            ]
        )
    k = starts.index(as_of)
    if k == 0:
        raise InputError(
            [Problem("the as-of month is the horizon's start: nothing is past yet", path=path)]
        )
    return k


def adopted_plan(ledger: Ledger, workspace: str) -> tuple[Plan, int]:
    """The plan of the workspace's latest adoption and the adoption's id (InputError: none)."""
    from sqlalchemy import select

    from hyperplan.ledger.models import Adoption, PlanRun, Workspace
    from hyperplan.plan.api import Plan

    with ledger.transaction() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == workspace))
        row = None
        if ws is not None:
            row = s.execute(
                select(Adoption.id, PlanRun.plan_json)
                .join(PlanRun, PlanRun.id == Adoption.plan_run_id)
                .where(Adoption.workspace_id == ws.id)
                .order_by(Adoption.id.desc())
                .limit(1)
            ).first()
    if row is None:
        raise InputError(
            [
                Problem(
                    f"workspace {workspace!r} of the ledger {ledger.where} has no adopted plan: "
                    "adopt one first (hyperplan adopt plan.json --yes)"
                )
            ]
        )
    import json

    return Plan.from_dict(json.loads(row[1])), int(row[0])


def _series_field(model: Any, name: str) -> bool:
    info = type(model).model_fields.get(name)
    return info is not None and "GrowthSeries" in repr(info.annotation)


def _shift_series(value: Any, k: int, tl: Any, base_dir: Any) -> Any:
    """A series over the original horizon → the same values over periods k.. (a list)."""
    from hyperplan.scenario.schema import CsvSeries, GrowthSeries
    from hyperplan.scenario.timeline import expand_series

    if value is None or isinstance(value, str | int | float):
        return value  # constant, unlimited or absent: the same over any horizon
    if isinstance(value, GrowthSeries):
        years = float(tl.years_from_start[k])
        return GrowthSeries(
            start=value.start * (1.0 + value.growth_per_year) ** years,
            growth_per_year=value.growth_per_year,
        )
    if isinstance(value, list | CsvSeries):
        return [float(x) for x in expand_series(value, tl, base_dir)[k:]]
    return value


def _shift_models(model: Any, k: int, tl: Any, base_dir: Any) -> None:
    """Shift every series field of ``model`` and the models inside it, in place."""
    from pydantic import BaseModel

    for name in type(model).model_fields:
        value = getattr(model, name)
        if _series_field(model, name):
            shifted = _shift_series(value, k, tl, base_dir)
            if shifted is not value:
                setattr(model, name, shifted)
            continue
        if isinstance(value, BaseModel):
            _shift_models(value, k, tl, base_dir)
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, BaseModel):
                    _shift_models(v, k, tl, base_dir)
        elif isinstance(value, dict):
            for v in value.values():
                if isinstance(v, BaseModel):
                    _shift_models(v, k, tl, base_dir)


def planned_gpu_hours(plan: Plan) -> pd.DataFrame:
    """The plan's allocated GPU-hours per month and workload (month, workload, gpu_hours)."""
    from hyperplan.actuals.answers import _period_months

    pm = _period_months(plan)
    al = plan.tables["allocation"]
    al = al[al["kind"].isin(GPU_KINDS)][["workload", "period_index", "gpus"]]
    df = al.merge(pm, on="period_index")
    df["gpu_hours"] = df["gpus"].astype(float) * df["hours"]
    return df.groupby(["month", "workload"], as_index=False)["gpu_hours"].sum()


def observed_gpu_hours(frame: FocusFrame, before: dt.date) -> pd.DataFrame:
    """GPU-hours of the bills' usage rows per month before ``before`` (Unused rows left out)."""
    return frame.sql(
        "SELECT month, coalesce(sum(gpu_hours), 0) AS gpu_hours FROM focus "
        "WHERE charge_category = 'Usage' AND commitment_status IS DISTINCT FROM 'Unused' "
        "AND month IS NOT NULL AND month < ? GROUP BY month ORDER BY month",
        [before.strftime("%Y-%m")],
    )


def demand_ratio(frame: FocusFrame, plan: Plan, as_of: dt.date) -> tuple[float, list[str]]:
    """Observed / planned GPU-hours over the months the bills cover before ``as_of``."""
    obs = observed_gpu_hours(frame, as_of)
    obs = obs[obs["gpu_hours"] > 0]
    planned = planned_gpu_hours(plan)
    months = sorted(obs["month"])
    p = float(planned.loc[planned["month"].isin(months), "gpu_hours"].sum())
    o = float(obs["gpu_hours"].sum())
    if not months or p <= 0:
        return math.nan, ["no observed GPU-hours before the as-of date to compare with the plan"]
    return o / p, [
        f"observed {o:,.0f} GPU-hours in {months[0]}..{months[-1]} against {p:,.0f} planned "
        f"(ratio {o / p:.4f})"
    ]


def _contracts_state(
    frame: FocusFrame | None, scenario: Scenario, as_of: dt.date, plan: Plan
) -> pd.DataFrame:
    """Per contract of ``scenario``: committed, consumed to the as-of date, remaining and the
    projected shortfall (P50 of the run-rate burn-down; 0 without bills)."""
    from hyperplan.actuals.answers import burndown
    from hyperplan.actuals.contracts import COLUMNS

    cols = ["contract", "provider", "committed_usd", "consumed_usd", "remaining_usd"]
    cols += ["shortfall_p50_usd", "at_risk"]
    if not scenario.contracts:
        return pd.DataFrame(columns=cols)
    cdf = pd.DataFrame(
        [
            (c.name, c.provider, c.committed_usd, pd.Timestamp(c.start), pd.Timestamp(c.end))
            for c in scenario.contracts
        ],
        columns=COLUMNS,
    )
    if frame is None:
        bd = pd.DataFrame({"contract": cdf["name"], "consumed_usd": 0.0, "shortfall_p50_usd": 0.0})
    else:
        bd = burndown(frame, cdf, plan, at=pd.Timestamp(as_of))
    bd = bd.set_index("contract")
    rows = []
    for c in scenario.contracts:  # contracts: a handful
        consumed = float(bd.loc[c.name, "consumed_usd"]) if c.name in bd.index else 0.0
        short = float(bd.loc[c.name, "shortfall_p50_usd"]) if c.name in bd.index else 0.0
        rows.append(
            (
                c.name,
                c.provider,
                c.committed_usd,
                consumed,
                max(c.committed_usd - consumed, 0.0),
                short,
                short > 0.0,
            )
        )
    return pd.DataFrame(rows, columns=cols)


def remaining_scenario(
    scenario: Scenario,
    as_of: dt.date,
    adopted: Plan,
    contracts: pd.DataFrame,
    ratio: float,
) -> tuple[Scenario, str | None, list[str]]:
    """The scenario over ``[as_of, horizon end)`` with the remaining balances and the observed
    demand (see the module docstring); the workload scaled (or None) and notes."""
    from hyperplan.scenario.timeline import timeline

    tl = timeline(scenario.horizon)
    k = check_as_of(scenario, as_of)
    notes: list[str] = []
    new = scenario.model_copy(deep=True)
    _shift_models(new, k, tl, scenario._base_dir)
    new._base_dir = scenario._base_dir
    new.horizon.start = as_of
    new.horizon.periods = tl.periods - k
    # training runs: done ones dropped, running ones with what the plan had not yet allocated
    planned = planned_gpu_hours(adopted)
    past = planned[planned["month"] < as_of.strftime("%Y-%m")]
    kept = []
    for wl in new.workloads:  # workloads: a handful
        if wl.kind == "training":
            if wl.deadline <= as_of:
                notes.append(f"training {wl.name}: deadline {wl.deadline} passed; dropped")
                continue
            if wl.start < as_of:
                done = float(past.loc[past["workload"] == wl.name, "gpu_hours"].sum())
                left = max(wl.compute_gpu_hours - done, 0.0)
                notes.append(
                    f"training {wl.name}: {done:,.0f} GPU-hours allocated before {as_of} by the "
                    f"adopted plan (the bills cannot attribute them to a run); {left:,.0f} left"
                )
                if left <= 0:
                    continue
                wl.start = as_of
                wl.compute_gpu_hours = left
        kept.append(wl)
    new.workloads = kept
    # observed demand, where the bills can attribute it
    scaled = None
    gpu = [w for w in scenario.workloads if w.kind in GPU_KINDS]
    if math.isnan(ratio):
        notes.append("demand: no observed usage to compare; the forecast is kept")
    elif len(gpu) == 1 and gpu[0].kind in DEMAND_FIELD:
        wl = next(w for w in new.workloads if w.name == gpu[0].name)
        name = DEMAND_FIELD[wl.kind]
        values = _shift_series(getattr(wl, name), 0, timeline(new.horizon), scenario._base_dir)
        from hyperplan.scenario.schema import GrowthSeries

        if isinstance(values, GrowthSeries):
            values = GrowthSeries(
                start=values.start * ratio, growth_per_year=values.growth_per_year
            )
        elif isinstance(values, list):
            values = [v * ratio for v in values]
        else:
            values = float(values) * ratio
        setattr(wl, name, values)
        scaled = wl.name
        notes.append(f"demand: {wl.name}'s {name} scaled by the observed ratio {ratio:.4f}")
    else:
        notes.append(
            f"demand: not attributable: the bills name offers, not workloads, and the scenario "
            f"has {len(gpu)} GPU workloads ({', '.join(w.name for w in gpu) or 'none'}); the "
            f"forecast is kept (observed/planned GPU-hours {ratio:.4f})"
        )
    # contracts: remaining balance from the as-of date; ended ones dropped
    remaining = dict(zip(contracts["contract"], contracts["remaining_usd"], strict=True))
    new_contracts = []
    for c in new.contracts:
        if c.end <= as_of:
            notes.append(f"contract {c.name}: ended {c.end}; dropped")
            continue
        if c.start < as_of:
            c.committed_usd = float(remaining.get(c.name, c.committed_usd))
            c.start = as_of
        new_contracts.append(c)
    new.contracts = new_contracts
    # existing reservations (the scenario's and the ledger's signed ones) from the as-of date
    res = []
    for r in new.reservations:
        if r.end <= as_of:
            continue
        if r.start < as_of:
            r.start = as_of
        res.append(r)
    new.reservations = res
    return new, scaled, notes


def diff_plans(
    adopted: Plan,
    new: Plan,
    as_of: dt.date,
    held: list[dict[str, Any]],
    *,
    ratio: float,
    scaled: str | None,
    at_risk: set[str],
    lapsed: dict[str, int] | None = None,
) -> pd.DataFrame:
    """The changes from the adopted plan's open commitments (start ≥ ``as_of``, not held in
    the ledger) to the new plan's, one row per commitment key (:data:`DIFF_COLUMNS`).

    ``lapsed``: per accelerator, the adopted commitments running at ``as_of`` that the ledger
    does not hold (:func:`unheld_running`); a sign or grow of that accelerator gives it as a reason.
    """
    from hyperplan.ledger.api import _plan_items

    def items(plan: Plan) -> dict[tuple, Any]:
        out = {}
        for it in _plan_items(plan):
            if it.start >= as_of:
                out[it.key] = it
        return out

    keys = held_keys(held)
    before = {k: v for k, v in items(adopted).items() if k not in keys}
    after = items(new)
    rows = []
    for key in sorted(set(before) | set(after), key=lambda k: (k[5], k[1], k[2], k[3], k[0], k[4])):
        b, a = before.get(key), after.get(key)
        qb = b.quantity if b else 0.0
        qa = a.quantity if a else 0.0
        same_qty = math.isclose(qa, qb, rel_tol=REL_TOL, abs_tol=1e-9)
        same_price = (
            a is not None
            and b is not None
            and math.isclose(a.usd_per_hour, b.usd_per_hour, rel_tol=REL_TOL)
        )
        if same_qty and same_price:
            continue
        ref = a or b
        vb = b.value_usd if b else 0.0
        va = a.value_usd if a else 0.0
        # same quantity at another price: grow or shrink by its value
        up = qa > qb if not same_qty else va > vb
        change = "sign" if b is None else ("grow" if up else "shrink")
        rows.append(
            {
                "change": change,
                "provider": ref.provider,
                "region": ref.region,
                "offer": ref.offer,
                "accelerator": ref.accelerator,
                "term_years": ref.term_years,
                "start": ref.start.isoformat(),
                "quantity_before": qb,
                "quantity_after": qa,
                "usd_per_hour_before": b.usd_per_hour if b else math.nan,
                "usd_per_hour_after": a.usd_per_hour if a else math.nan,
                "value_before_usd": vb,
                "value_after_usd": va,
                "money_effect_usd": va - vb,
                "reason": "",
            }
        )
    df = pd.DataFrame(rows, columns=DIFF_COLUMNS)
    if not len(df):
        return df
    # shift provider: one accelerator and start, one provider down while another goes up
    up = df["change"].isin(["sign", "grow"])
    for _, g in df.groupby(["accelerator", "start"], sort=True):
        downs = set(g.loc[~up.loc[g.index], "provider"])
        ups = set(g.loc[up.loc[g.index], "provider"])
        if downs and ups and downs != ups and (ups - downs) and (downs - ups):
            idx = g.index[g["provider"].isin((ups - downs) | (downs - ups))]
            df.loc[idx, "change"] = "shift provider"
    reasons = []
    for r in df.itertuples():  # changes: a few dozen at most
        why = []
        pb, pa = r.usd_per_hour_before, r.usd_per_hour_after
        if np.isfinite(pb) and np.isfinite(pa) and not math.isclose(pa, pb, rel_tol=REL_TOL):
            why.append(f"price {pb:,.4f} → {pa:,.4f} USD/h")
        qa, qb = r.quantity_after, r.quantity_before
        same = math.isclose(qa, qb, rel_tol=REL_TOL, abs_tol=1e-9)
        grows = r.money_effect_usd > 0 if same else qa > qb
        moved = scaled is not None and np.isfinite(ratio) and not math.isclose(ratio, 1.0)
        if moved and (ratio > 1.0) == grows:
            why.append(f"demand ×{ratio:.4f} ({scaled})")
        if r.money_effect_usd > 0 and r.provider.lower() in at_risk:
            why.append(f"at-risk contract with {r.provider}")
        n_lapsed = (lapsed or {}).get(r.accelerator, 0)
        if grows and n_lapsed:
            why.append(
                f"replaces {n_lapsed} adopted {r.accelerator or 'CPU'} commitment(s) started "
                f"before {as_of:%Y-%m} and not signed"
            )
        reasons.append("; ".join(why) or "re-solve")
    df["reason"] = reasons
    return df


def held_keys(held: list[dict[str, Any]]) -> set[tuple]:
    """Diff keys (kind, provider, region, offer, term, start) of the ledger's held rows."""
    return {
        (
            r["kind"],
            r["provider"].lower(),
            r["region"].lower(),
            r["offer"].lower(),
            int(r["term_years"]),
            dt.date.fromisoformat(r["start"]),
        )
        for r in held
    }


def unheld_running(adopted: Plan, as_of: dt.date, held: list[dict[str, Any]]) -> list[Any]:
    """The adopted plan's commitments that started before ``as_of``, still run at it, and
    that the ledger does not hold (not signed or active): the re-plan cannot count them."""
    from hyperplan.ledger.api import _plan_items

    keys = held_keys(held)
    return [
        it
        for it in _plan_items(adopted)
        if it.start < as_of < it.end and it.key not in keys and it.quantity > 0
    ]


def replan(
    scenario: Scenario,
    as_of: dt.date,
    ledger: Ledger,
    workspace: str = "default",
    *,
    frame: FocusFrame | None = None,
    integer: bool | None = None,
    outages: bool = True,
    scenario_yaml: str | None = None,
) -> Replan:
    """Re-solve the scenario's remaining horizon from the ledger and the actuals (module doc).

    ``frame``: the actuals (default: the ones imported into the ledger; none: no demand update
    and contracts at their full balance, said in the notes). The new plan records the ledger
    version it was made from (as ``plan --from-ledger`` does), with ``scenario_yaml`` (the
    scenario's text, when known): adopting it checks that the ledger has not moved since, and
    knows it counts the held commitments.
    """
    from hyperplan.actuals.store import frame_from_ledger
    from hyperplan.ledger.api import held as held_commitments
    from hyperplan.ledger.existing import scenario_from_ledger
    from hyperplan.plan import plan as make_plan

    adopted, adoption_id = adopted_plan(ledger, workspace)
    notes = [f"adopted plan: adoption {adoption_id} of workspace {workspace}"]
    if frame is None:
        try:
            frame = frame_from_ledger(ledger, workspace)
        except InputError:
            notes.append("no actuals imported: demand kept, contracts at their full balance")
            frame = None
    options = {"replan_as_of": f"{as_of:%Y-%m}", "integer": integer, "outages": outages}
    with_ledger, meta, ledger_notes = scenario_from_ledger(
        scenario, ledger, workspace, options=options
    )
    if scenario_yaml is not None:
        meta["scenario_yaml"] = scenario_yaml
    notes.extend(n for n in ledger_notes if not n.startswith("warning"))
    contracts = _contracts_state(frame, with_ledger, as_of, adopted)
    ratio, demand_notes = (
        demand_ratio(frame, adopted, as_of) if frame is not None else (math.nan, [])
    )
    notes.extend(demand_notes)
    rest, scaled, rest_notes = remaining_scenario(with_ledger, as_of, adopted, contracts, ratio)
    notes.extend(rest_notes)
    new = make_plan(rest, integer=integer, outages=outages)
    new.context = new.context.with_ledger(meta)
    _, held = held_commitments(ledger, workspace)
    at_risk = {str(p).lower() for p in contracts.loc[contracts["at_risk"], "provider"]}
    unheld = unheld_running(adopted, as_of, held)
    lapsed: dict[str, int] = {}
    for it in unheld:  # a handful of commitments
        lapsed[it.accelerator] = lapsed.get(it.accelerator, 0) + 1
    warnings = []
    if unheld:
        warnings.append(
            f"{len(unheld)} adopted commitment(s) started before {as_of:%Y-%m} and still running "
            "are not signed or active in the ledger, so the re-plan does not count their "
            "capacity: sign the ones that were (hyperplan ledger --state proposed, "
            "hyperplan sign ID --external-id X)"
        )
    d = diff_plans(
        adopted, new, as_of, held, ratio=ratio, scaled=scaled, at_risk=at_risk, lapsed=lapsed
    )
    return Replan(new, d, as_of, ratio, scaled, contracts, len(held), notes, warnings)
