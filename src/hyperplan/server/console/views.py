"""What the console's pages show, as plain data for the templates.

Nothing here recomputes what the library computes: the portfolio is the HTML report's summary
shaping (:mod:`hyperplan.report.render_sections`, :mod:`hyperplan.report.summary`) of the
workspace's adopted plan, with the bills against it (:func:`hyperplan.actuals.answers.plan_vs_actual`);
the contracts are :func:`hyperplan.actuals.answers.burndown`; the comparison of two runs is
:func:`hyperplan.actuals.replan.diff_plans`; an adoption's diff is
:func:`hyperplan.ledger.api.preview`. What is added is said where it is: the date by which
usage must rise (:func:`rise_by`) and adoption requests kept in the audit log.

Money USD, power MW (shown in GW where said), shares as fractions 0..1.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from sqlalchemy import select

from hyperplan.errors import InputError
from hyperplan.ledger import api, jobs
from hyperplan.ledger.db import Ledger
from hyperplan.ledger.models import AuditEntry, Workspace, utcnow
from hyperplan.ledger.states import STATES
from hyperplan.report import fmt

if TYPE_CHECKING:
    import pandas as pd

    from hyperplan.plan.api import Plan

DAYS_PER_MONTH = 365.25 / 12
"""Days in the average month (the burn-down's months: days / 30.44)."""
REQUEST = "request_adoption"
APPROVE = "approve_adoption"
REJECT = "reject_adoption"
REQUEST_ACTIONS = (REQUEST, APPROVE, REJECT)
"""Audit actions of adoption requests (entity ``plan_run``, entity_id the plan run)."""
HISTORY_ACTIONS = (*REQUEST_ACTIONS, "adopt")
"""Audit actions shown as the adoption history."""


def figure_json(fig: Any) -> Any:
    """A plotly figure as the JSON ``{"data", "layout"}`` console.js draws (plotly's own
    encoder, as the report's charts), made safe inside a ``<script>`` element (Markup)."""
    from plotly.io.json import to_json_plotly

    from hyperplan.report.render import script_json

    d = fig.to_dict()
    return script_json(to_json_plotly({"data": d.get("data", []), "layout": d.get("layout", {})}))


# ----------------------------------------------------------------------------------------------
# Portfolio
# ----------------------------------------------------------------------------------------------


def adopted(ledger: Ledger, workspace: str) -> tuple[Plan, int] | None:
    """The workspace's latest adopted plan and its adoption id, or None."""
    from hyperplan.actuals.replan import adopted_plan

    try:
        return adopted_plan(ledger, workspace)
    except InputError:
        return None


def actuals_frame(ledger: Ledger, workspace: str) -> Any:
    """The imported bills of the workspace (a FocusFrame), or None when none are stored."""
    from hyperplan.actuals.store import frame_from_ledger

    try:
        return frame_from_ledger(ledger, workspace)
    except InputError:
        return None


def commitments_by_state(ledger: Ledger, workspace: str) -> list[dict[str, Any]]:
    """Per ledger state (in the life order): commitments, instances and whole-term USD."""
    import pandas as pd

    rows = api.list_commitments(ledger, workspace)
    if not rows:
        return []
    df = pd.DataFrame(rows, columns=["state", "quantity", "value_usd"])
    g = df.groupby("state").agg(
        count=("state", "size"), quantity=("quantity", "sum"), value_usd=("value_usd", "sum")
    )
    out = []
    for state in STATES:
        if state in g.index:
            r = g.loc[state]
            out.append(
                {
                    "state": state,
                    "count": int(r["count"]),
                    "quantity": float(r["quantity"]),
                    "value_usd": float(r["value_usd"]),
                    "value": fmt.usd(float(r["value_usd"])),
                    "instances": fmt.count(float(r["quantity"])),
                }
            )
    return out


def provider_shares(plan: Plan) -> list[dict[str, Any]]:
    """Each provider's largest share of spend in any period against its cap (the plan's
    ``provider_share``, the table the max-share card reads)."""
    share = plan.provider_share()
    cap = plan.context.max_share
    out = []
    for provider in sorted(map(str, share.columns)):
        peak = float(share[provider].max(skipna=True)) if len(share) else 0.0
        limit = cap.get(provider) if isinstance(cap, dict) else cap
        limit = float(limit) if isinstance(limit, int | float) else None
        out.append(
            {
                "provider": provider,
                "share": fmt.pct(peak),
                "share_value": peak,
                "cap": fmt.pct(limit, 0) if limit is not None else "no cap",
                "over": limit is not None and peak > limit + 1e-6,
            }
        )
    return out


def plan_vs_actual_years(frame: Any, plan: Plan) -> list[dict[str, Any]]:
    """Planned and actual spend per calendar year and provider, over the months the bills cover
    (:func:`hyperplan.actuals.answers.plan_vs_actual` summed by year)."""
    from hyperplan.actuals.answers import plan_vs_actual

    pva = plan_vs_actual(frame, plan)
    if not len(pva):
        return []
    pva = pva.assign(year=pva["month"].astype(str).str[:4])
    g = pva.groupby(["year", "provider"], sort=True)[["plan_usd", "actual_usd"]].sum()
    return [
        {
            "year": year,
            "provider": provider,
            "plan": fmt.usd(float(r.plan_usd)),
            "actual": fmt.usd(float(r.actual_usd)),
            "diff": fmt.signed_usd(float(r.actual_usd - r.plan_usd)),
            "plan_usd": float(r.plan_usd),
            "actual_usd": float(r.actual_usd),
        }
        for (year, provider), r in zip(g.index, g.itertuples(index=False), strict=True)
    ]


def portfolio(ledger: Ledger, workspace: str) -> dict[str, Any]:
    """The portfolio page: the adopted plan's summary (the report's cards, risks, spend per
    year and its chart), provider shares against caps, GW against the target, the bills
    against the plan, and the ledger's commitments by state."""
    from hyperplan.report import charts, render_sections
    from hyperplan.report.render import Doc

    out: dict[str, Any] = {
        "by_state": commitments_by_state(ledger, workspace),
        "ledger_version": api.ledger_version(ledger, workspace),
        "plan": None,
    }
    found = adopted(ledger, workspace)
    if found is None:
        return out
    plan, adoption_id = found
    doc = Doc(plan)
    s = doc.s
    frame = actuals_frame(ledger, workspace)
    out["plan"] = {
        "name": plan.scenario_name,
        "status": plan.status,
        "adoption_id": adoption_id,
        "kpis": render_sections._kpis(doc),
        "risks": s.risks(),
        "years": render_sections._spend_years(doc),
        "chart": figure_json(charts.spend_per_year(s.spend_year_provider, doc.colors))
        if len(s.spend_year_provider)
        else None,
        "shares": provider_shares(plan),
        "peak_gw": fmt.power_mw(s.peak_mw),
        "target_gw": fmt.power_mw(s.target_mw) if s.target_mw else None,
        "target_reached": fmt.pct(s.target_reached, 0) if s.target_reached is not None else None,
        "short_of_target": bool(s.target_mw and s.peak_mw < s.target_mw),
        "actuals": plan_vs_actual_years(frame, plan) if frame is not None else None,
    }
    return out


# ----------------------------------------------------------------------------------------------
# Contracts: the burn-down and the date by which usage must rise
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiseBy:
    """When usage must rise to avoid a contract's projected (P50) shortfall.

    ``date``: the last day on which consumption can rise from the run rate (``mean_usd``, USD a
    month) to the forecast band's upper edge (``high_usd``, the P90 run rate) and still burn
    the commitment by the term's end; ``None`` when no rise is needed or none at the P90 rate
    suffices. ``needed_usd``: USD a month needed from the as-of date to avoid the shortfall.
    """

    date: dt.date | None
    needed_usd: float
    mean_usd: float
    high_usd: float
    note: str


def rise_by(
    committed: float,
    consumed: float,
    months_left: float,
    mean: float,
    p90: float,
    as_of: dt.date,
) -> RiseBy:
    """The date by which usage must rise to avoid the shortfall (see :class:`RiseBy`).

    With B = committed − consumed left to burn over k months, run rate m and P90 rate
    h = (p90 − consumed) / k: rising after τ months burns m·τ + h·(k − τ), which is ≥ B while
    τ ≤ (h·k − B) / (h − m). All money USD, k in months of 30.44 days.
    """
    left = committed - consumed
    k = months_left
    if left <= 0:
        return RiseBy(None, 0.0, mean, mean, "burnt: nothing left to consume")
    if k <= 0:
        return RiseBy(None, math.inf, mean, mean, "the term has ended: the shortfall is owed")
    needed = left / k
    high = max((p90 - consumed) / k, mean)
    if mean * k >= left - 1e-9:
        return RiseBy(None, needed, mean, high, "on track at the run rate")
    if high * k < left - 1e-9 or high <= mean:
        return RiseBy(
            as_of,
            needed,
            mean,
            high,
            "must rise now: even the P90 rate falls short"
            if high > mean
            else "must rise now (fewer than 2 months of bills: no forecast band)",
        )
    tau = (high * k - left) / (high - mean)
    date = as_of + dt.timedelta(days=math.floor(tau * DAYS_PER_MONTH))
    return RiseBy(date, needed, mean, high, "rise to the P90 rate by this date")


def contracts(ledger: Ledger, workspace: str) -> dict[str, Any]:
    """The contracts page: each take-or-pay contract's burn-down against the stored bills
    (:func:`hyperplan.actuals.answers.burndown`; the plan's forecast from the adopted plan),
    with :func:`rise_by`. ``actuals`` is False when no bills are stored."""
    import pandas as pd

    from hyperplan.actuals.answers import burndown
    from hyperplan.actuals.contracts import COLUMNS, contracts_from_plan

    stored = api.list_contracts(ledger, workspace)
    found = adopted(ledger, workspace)
    plan = found[0] if found is not None else None
    if stored:
        table = pd.DataFrame(
            {
                COLUMNS[0]: [r["name"] for r in stored],
                COLUMNS[1]: [r["provider"] for r in stored],
                COLUMNS[2]: [float(r["committed_usd"]) for r in stored],
                COLUMNS[3]: pd.to_datetime([r["start"] for r in stored]),
                COLUMNS[4]: pd.to_datetime([r["end"] for r in stored]),
            },
            columns=COLUMNS,
        )
        source = "the ledger"
    elif plan is not None:
        table = contracts_from_plan(plan)
        source = "the adopted plan's scenario"
    else:
        table, source = None, None
    if table is not None and not len(table):
        table, source = None, None
    out: dict[str, Any] = {
        "stored": stored,
        "source": source,
        "actuals": False,
        "rows": [],
        "as_of": None,
    }
    frame = actuals_frame(ledger, workspace)
    if frame is None or table is None or not len(table):
        return out
    out["actuals"] = True
    bd = burndown(frame, table, plan)
    rows = []
    for r in bd.itertuples(index=False):  # one per contract: a handful
        as_of = dt.date.fromisoformat(r.as_of)
        rb = rise_by(
            r.committed_usd, r.consumed_usd, r.months_left, r.monthly_mean_usd,
            r.forecast_p90_usd, as_of,
        )  # fmt: skip
        rows.append(
            {
                "contract": r.contract,
                "provider": r.provider,
                "start": r.start,
                "end": r.end,
                "as_of": r.as_of,
                "committed": fmt.usd(r.committed_usd),
                "consumed": fmt.usd(r.consumed_usd),
                "consumed_value": float(r.consumed_usd),
                "committed_value": float(r.committed_usd),
                "band": f"{fmt.usd(r.forecast_p10_usd)} – {fmt.usd(r.forecast_p90_usd)}",
                "p50": fmt.usd(r.forecast_p50_usd),
                "plan_forecast": fmt.usd(r.plan_forecast_usd)
                if math.isfinite(r.plan_forecast_usd)
                else "–",
                "shortfall": fmt.usd(r.shortfall_p50_usd),
                "shortfall_value": float(r.shortfall_p50_usd),
                "rise_by": rb.date.isoformat() if rb.date is not None else "–",
                "rise_note": rb.note,
                "needed": fmt.usd(rb.needed_usd) if math.isfinite(rb.needed_usd) else "–",
                "mean": fmt.usd(rb.mean_usd),
                "basis": r.basis,
            }
        )
    out["rows"] = rows
    out["as_of"] = rows[0]["as_of"] if rows else None
    return out


# ----------------------------------------------------------------------------------------------
# Runs: the plan of a job, and two plans compared
# ----------------------------------------------------------------------------------------------


def job_plan(ledger: Ledger, job_id: int, workspace: str) -> tuple[dict[str, Any], Plan]:
    """A succeeded plan or replan job's record and the Plan it made (JobError when it has
    none)."""
    record, plan, _ = job_plan_and_replan(ledger, job_id, workspace)
    return record, plan


def job_plan_and_replan(
    ledger: Ledger, job_id: int, workspace: str
) -> tuple[dict[str, Any], Plan, dict[str, Any] | None]:
    """A succeeded plan or replan job's record, the Plan it made and, for a replan, the view
    of what it changed (:func:`hyperplan.report.replan_section.replan_view`; else None)."""
    from hyperplan.plan.api import Plan

    record, text = jobs.result(ledger, job_id, workspace)
    if record["kind"] == "plan":
        return record, Plan.from_dict(json.loads(text)), None
    if record["kind"] != "replan":
        raise jobs.JobError(f"job {job_id} is a {record['kind']} job, not a plan")
    from hyperplan.artifacts.replan import replan_from_dict
    from hyperplan.report.replan_section import replan_view

    doc = replan_from_dict(json.loads(text), file=f"the result of job {job_id}")
    if doc.get("plan_document") is None:
        raise jobs.JobError(f"replan job {job_id} kept no plan (it ran on an older server)")
    return record, Plan.from_dict(doc["plan_document"]), replan_view(doc)


def compare_plans(a: Plan, b: Plan) -> dict[str, Any]:
    """What changed from plan ``a`` to plan ``b`` and what it costs: commitments added, removed
    and changed (:func:`hyperplan.actuals.replan.diff_plans` over the whole horizon), their
    whole-term value, and the plans' total and present-value spend per provider."""
    import pandas as pd

    from hyperplan.actuals.replan import diff_plans

    d = diff_plans(a, b, dt.date.min, [], ratio=math.nan, scaled=None, at_risk=set())
    changes = []
    for r in d.itertuples(index=False):  # changed commitments: a few dozen at most
        if r.quantity_before == 0:
            what = "added"
        elif r.quantity_after == 0:
            what = "removed"
        else:
            what = "changed"
        changes.append(
            {
                "what": what,
                "provider": r.provider,
                "region": r.region,
                "offer": r.offer,
                "accelerator": r.accelerator,
                "term_years": int(r.term_years),
                "start": r.start,
                "before": fmt.count(r.quantity_before),
                "after": fmt.count(r.quantity_after),
                "effect": fmt.signed_usd(r.money_effect_usd),
                "effect_value": float(r.money_effect_usd),
                "reason": r.reason,
            }
        )

    def by_provider(p: Plan) -> pd.Series:
        spend = p.tables["spend"]
        return spend.groupby("provider")["usd"].sum() if len(spend) else pd.Series(dtype=float)

    sa, sb = by_provider(a), by_provider(b)
    providers = sorted(set(map(str, sa.index)) | set(map(str, sb.index)))
    spend = [
        {
            "provider": p,
            "a": fmt.usd(float(sa.get(p, 0.0))),
            "b": fmt.usd(float(sb.get(p, 0.0))),
            "diff": fmt.signed_usd(float(sb.get(p, 0.0) - sa.get(p, 0.0))),
        }
        for p in providers
    ]
    counts = {k: sum(1 for c in changes if c["what"] == k) for k in ("added", "removed", "changed")}
    effect = float(d["money_effect_usd"].sum()) if len(d) else 0.0
    return {
        "changes": changes,
        "counts": counts,
        "commitments_effect": fmt.signed_usd(effect),
        "commitments_effect_value": effect,
        "total_a": fmt.usd(a.total_usd),
        "total_b": fmt.usd(b.total_usd),
        "total_diff": fmt.signed_usd(b.total_usd - a.total_usd),
        "total_diff_value": float(b.total_usd - a.total_usd),
        "npv_a": fmt.usd(a.total_usd_discounted),
        "npv_b": fmt.usd(b.total_usd_discounted),
        "npv_diff": fmt.signed_usd(b.total_usd_discounted - a.total_usd_discounted),
        "spend": spend,
    }


# ----------------------------------------------------------------------------------------------
# Adoption requests, kept in the audit log
# ----------------------------------------------------------------------------------------------


def _workspace_row(s: Any, workspace: str) -> Workspace:
    ws = s.scalar(select(Workspace).where(Workspace.name == workspace))
    if ws is None:
        raise jobs.JobNotFound(f"workspace {workspace!r} has no plan runs")
    return ws


def _audit_row(
    s: Any, ws: Workspace, actor: str, action: str, plan_run_id: int, after: dict[str, Any]
) -> None:
    s.add(
        AuditEntry(
            workspace_id=ws.id,
            ledger_version=ws.ledger_version,
            at=utcnow(),
            actor=actor,
            action=action,
            entity="plan_run",
            entity_id=plan_run_id,
            before=None,
            after=after,
        )
    )


def request_state(ledger: Ledger, workspace: str) -> dict[int, dict[str, Any]]:
    """The last request event per plan run: ``{plan_run_id: audit record}`` (action
    request_adoption, approve_adoption or reject_adoption)."""
    with ledger.transaction() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == workspace))
        if ws is None:
            return {}
        q = (
            select(AuditEntry)
            .where(
                AuditEntry.workspace_id == ws.id,
                AuditEntry.entity == "plan_run",
                AuditEntry.action.in_(REQUEST_ACTIONS),
            )
            .order_by(AuditEntry.id)
        )
        last: dict[int, dict[str, Any]] = {}
        for a in s.scalars(q):
            if a.entity_id is not None:
                last[a.entity_id] = {
                    "id": a.id,
                    "action": a.action,
                    "actor": a.actor,
                    "at": a.at.isoformat(timespec="seconds"),
                    "after": a.after or {},
                }
        return last


def pending_requests(ledger: Ledger, workspace: str) -> list[dict[str, Any]]:
    """Adoption requests neither approved nor rejected, oldest first."""
    last = request_state(ledger, workspace)
    out = [
        {"plan_run_id": run, **event} for run, event in last.items() if event["action"] == REQUEST
    ]
    return sorted(out, key=lambda r: r["id"])


def request_adoption(
    ledger: Ledger, workspace: str, job_id: int, author: str, note: str = ""
) -> int:
    """Ask an approver to adopt the plan of succeeded plan job ``job_id``: an audit row
    ``request_adoption`` on its plan run (refused when a request for it is pending). Returns
    the plan run id."""
    record = jobs.get(ledger, job_id, workspace)
    run_id = record.get("plan_run_id")
    if record["kind"] != "plan" or record["state"] != "succeeded" or run_id is None:
        raise jobs.JobError(f"job {job_id} is not a succeeded plan: nothing to adopt")
    with ledger.transaction() as s:
        ws = _workspace_row(s, workspace)
        prior = s.scalar(
            select(AuditEntry.action)
            .where(
                AuditEntry.workspace_id == ws.id,
                AuditEntry.entity == "plan_run",
                AuditEntry.entity_id == run_id,
                AuditEntry.action.in_(REQUEST_ACTIONS),
            )
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        if prior == REQUEST:
            raise jobs.JobError(f"the plan of job {job_id} already awaits an approver")
        _audit_row(s, ws, author, REQUEST, run_id, {"job_id": job_id, "note": note[:500]})
    return int(run_id)


def _pending_or_refuse(ledger: Ledger, workspace: str, plan_run_id: int) -> dict[str, Any]:
    event = request_state(ledger, workspace).get(plan_run_id)
    if event is None or event["action"] != REQUEST:
        raise jobs.JobError(f"no pending adoption request for plan run {plan_run_id}")
    return event


def plan_of_run(ledger: Ledger, workspace: str, plan_run_id: int) -> Plan:
    """The Plan of one of the workspace's plan runs."""
    from hyperplan.plan.api import Plan

    return Plan.from_dict(json.loads(jobs.plan_run_json(ledger, plan_run_id, workspace)))


def approve_request(
    ledger: Ledger, workspace: str, plan_run_id: int, author: str, expect_version: int
) -> api.Adopted:
    """Adopt the plan of a pending request (:func:`hyperplan.ledger.api.adopt` at the version
    the approver's preview showed), with the ``approve_adoption`` audit row in the same
    transaction. Raises StaleLedger when the ledger moved since the preview."""
    _pending_or_refuse(ledger, workspace, plan_run_id)
    plan = plan_of_run(ledger, workspace, plan_run_id)

    def mark(s: Any, workspace_id: int, done: api.Adopted) -> None:
        ws = s.get(Workspace, workspace_id)
        last = s.scalar(
            select(AuditEntry.action)
            .where(
                AuditEntry.workspace_id == workspace_id,
                AuditEntry.entity == "plan_run",
                AuditEntry.entity_id == plan_run_id,
                AuditEntry.action.in_(REQUEST_ACTIONS),
            )
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        if last != REQUEST:  # decided by someone else meanwhile: roll the adoption back
            raise jobs.JobError(f"the request for plan run {plan_run_id} was decided meanwhile")
        _audit_row(s, ws, author, APPROVE, plan_run_id, {"adoption_id": done.id})

    return api.adopt(
        ledger,
        plan,
        workspace=workspace,
        author=author,
        expect_version=expect_version,
        before_commit=mark,
    )


def reject_request(
    ledger: Ledger, workspace: str, plan_run_id: int, author: str, reason: str = ""
) -> None:
    """Reject a pending request: an audit row ``reject_adoption`` (the ledger is unchanged)."""
    _pending_or_refuse(ledger, workspace, plan_run_id)
    with ledger.transaction() as s:
        ws = _workspace_row(s, workspace)
        _audit_row(s, ws, author, REJECT, plan_run_id, {"reason": reason[:500]})


def history(ledger: Ledger, workspace: str, limit: int = 200) -> list[dict[str, Any]]:
    """Who requested, approved, rejected and adopted what, newest first (the audit log)."""
    with ledger.transaction() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == workspace))
        if ws is None:
            return []
        q = (
            select(AuditEntry)
            .where(AuditEntry.workspace_id == ws.id, AuditEntry.action.in_(HISTORY_ACTIONS))
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
        return [
            {
                "id": a.id,
                "at": a.at.isoformat(timespec="seconds"),
                "actor": a.actor,
                "action": a.action,
                "entity": a.entity,
                "entity_id": a.entity_id,
                "ledger_version": a.ledger_version,
                "after": a.after or {},
            }
            for a in s.scalars(q)
        ]


# ----------------------------------------------------------------------------------------------
# Scenario editor: hints from the JSON Schema
# ----------------------------------------------------------------------------------------------


@functools.cache
def field_hints() -> dict[str, list[dict[str, Any]]]:
    """What the scenario editor shows for the key under the caret, read from the scenario's
    JSON Schema (the same document ``hyperplan schema`` writes, so the same words as the docs'
    reference and the error messages): for each field name, every model that has it, with its
    description, unit (``x-unit``) and first example, in the schema's order."""
    from hyperplan.scenario.jsonschema import scenario_json_schema

    schema = scenario_json_schema()
    models = [("Scenario", schema), *schema.get("$defs", {}).items()]
    hints: dict[str, list[dict[str, Any]]] = {}
    for model, node in models:
        for name, prop in (node.get("properties") or {}).items():
            if not isinstance(prop, dict) or not prop.get("description"):
                continue
            examples = prop.get("examples") or []
            hints.setdefault(name, []).append(
                {
                    "model": model,
                    "description": str(prop["description"]),
                    "unit": prop.get("x-unit"),
                    "example": json.dumps(examples[0]) if examples else None,
                }
            )
    return hints


@functools.cache
def field_hints_json() -> Markup:
    """:func:`field_hints` as JSON safe inside a ``<script type="application/json">`` element
    (``<``, ``>`` and ``&`` as ``\\u`` escapes, which JSON.parse reads back)."""
    text = json.dumps(field_hints(), separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return Markup(text)
