"""Build, rent or buy as tokens: what share of the plan each route carries, and why.

Read from the plan's ``routes`` and ``break_even`` tables (see docs/routes.md), for the
executive summary of the terminal and the HTML report alike. Plans without owned sites or
managed platforms have no ``routes`` table and get no lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hyperplan.plan.api import Plan
from hyperplan.report import fmt

ROUTES = ("rented", "owned", "managed")
WORDS = {"rented": "rented", "owned": "built", "managed": "bought as tokens"}


def route_mix(plan: Plan) -> pd.DataFrame | None:
    """Per route over the horizon: output tokens (inference), busy GPU-hours, USD.

    Columns: route, tokens, token_share, gpu_hours, gpu_share, usd, usd_share. ``tokens`` are
    output tokens served in the base plan; ``gpu_hours`` the GPU-hours serving any workload
    (idle capacity left out); ``usd`` the route's spend, idle capacity included. ``None``
    without a ``routes`` table.
    """
    rt = plan.tables.get("routes")
    if rt is None:
        return None
    wl = plan.tables.get("workloads")
    hours = (
        dict(zip(wl["period_index"].astype(int), wl["hours"].astype(float), strict=False))
        if wl is not None and len(wl)
        else {}
    )
    h = rt["period_index"].map(hours).fillna(0.0).to_numpy(dtype=float)
    busy = (rt["workload"] != "(idle)").to_numpy()
    inference = (rt["kind"] == "inference").to_numpy() & busy
    df = pd.DataFrame(
        {
            "route": rt["route"].astype(str),
            "tokens": np.where(inference, rt["served"].to_numpy(dtype=float) * h * 3600.0, 0.0),
            "gpu_hours": np.where(busy, rt["gpus"].to_numpy(dtype=float) * h, 0.0),
            "usd": rt["usd"].to_numpy(dtype=float),
        }
    )
    out = df.groupby("route").sum().reindex(list(ROUTES), fill_value=0.0)
    for col, share in (("tokens", "token_share"), ("gpu_hours", "gpu_share"), ("usd", "usd_share")):
        total = float(out[col].sum())
        out[share] = out[col] / total if total > 0 else np.nan
    out = out.reset_index()
    return out[["route", "tokens", "token_share", "gpu_hours", "gpu_share", "usd", "usd_share"]]


def _shares(mix: pd.DataFrame, column: str, routes: tuple[str, ...]) -> str:
    by = mix.set_index("route")[column]
    return ", ".join(f"{fmt.pct(by[r])} {WORDS[r]}" for r in routes)


def route_mix_lines(plan: Plan) -> list[str]:
    """Plain sentences: shares of tokens, GPU-hours and spend per route, then one line per owned
    site and managed platform saying why (its cost against the cheapest alternative, the
    break-even, how much the plan uses it). Empty without owned sites or managed platforms."""
    mix = route_mix(plan)
    if mix is None or not len(mix):
        return []
    lines = []
    if float(mix["tokens"].sum()) > 0:
        lines.append("Inference tokens: " + _shares(mix, "token_share", ROUTES) + ".")
    if float(mix["gpu_hours"].sum()) > 0:
        lines.append("Busy GPU-hours: " + _shares(mix, "gpu_share", ("rented", "owned")) + ".")
    if float(mix["usd"].sum()) > 0:
        lines.append("Spend: " + _shares(mix, "usd_share", ROUTES) + ".")
    be = plan.tables.get("break_even")
    if be is None or not len(be):
        return lines
    for _, r in be.iterrows():
        why = _owned_why(r) if r["route"] == "owned" else _managed_why(r)
        lines.append(why + _binding(plan, str(r["offer_id"]), str(r["route"])))
    return lines


def _binding(plan: Plan, offer_id: str, route: str) -> str:
    """What limits the route's use in the base plan: periods where its ramp, site power or
    throughput cap binds (from the ``policies`` table); "" when none binds."""
    pol = plan.tables.get("policies")
    if pol is None or not len(pol):
        return ""
    base = pol[pol["scenario"] == "base"] if "scenario" in pol.columns else pol
    site = offer_id.rsplit(":", 1)[0]
    subject = base["subject"].astype(str)
    parts = []
    ramp = base[(base["policy"] == "supply") & subject.str.startswith(offer_id)]
    power = base[(base["policy"] == "power-site") & (subject == site)]
    cap = base[(base["policy"] == "pool-market") & subject.str.startswith(offer_id)]
    if route == "owned" and len(ramp):
        parts.append(f"its build ramp binds in {ramp['period'].nunique()} period(s)")
    if route == "owned" and len(power):
        parts.append(f"its power cap binds in {power['period'].nunique()} period(s)")
    if route == "managed" and len(cap):
        parts.append(f"its throughput cap binds in {cap['period'].nunique()} period(s)")
    return (" Limit: " + "; ".join(parts) + ".") if parts else ""


def _num(value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return v


def _owned_why(r: pd.Series) -> str:
    """Why an owned site is built (or not): its cost per GPU-hour against renting."""
    cost = _num(r["usd_per_gpu_hour"])
    text = f"{r['offer_id']}: USD {fmt.usd_rate(cost)} per GPU-hour flat out"
    rent = _num(r.get("alternative_usd_per_gpu_hour"))
    if rent == rent:
        text += (
            f", against USD {fmt.usd_rate(rent)} on demand ({r['alternative_offer_id']}): "
            f"owning wins when busy more than {fmt.pct(_num(r['break_even_utilisation']))} "
            "of the hours"
        )
    reserved = _num(r.get("reserved_usd_per_gpu_hour"))
    if reserved == reserved:
        text += f" (the cheapest reserved term: USD {fmt.usd_rate(reserved)})"
    built = _num(r.get("built_servers"))
    use = _num(r.get("utilisation"))
    if built > 0:
        text += f"; the plan builds up to {fmt.count(built)} servers"
        if use == use:
            text += f", busy {fmt.pct(use)} of their hours"
    else:
        entry = _num(r.get("entry_usd_per_hour"))
        text += "; not built" + (
            f": it would be at USD {fmt.usd_rate(entry)} per server-hour" if entry == entry else ""
        )
    return text + "."


def _managed_why(r: pd.Series) -> str:
    """Why a managed platform is used (or not): its price per million tokens against GPUs."""
    k = _num(r["usd_per_million_tokens"])
    text = f"{r['offer_id']} for {r['workload']}: USD {fmt.usd_rate(k)} per million output tokens"
    alt = _num(r.get("alternative_usd_per_million_tokens"))
    if alt == alt:
        text += (
            f", against USD {fmt.usd_rate(alt)} on the cheapest GPU route "
            f"({r['alternative_offer_id']})"
        )
    share = _num(r.get("served_share"))
    marginal = _num(r.get("marginal_usd_per_million_tokens"))
    if share == share and share > 1e-9:
        text += f"; it serves {fmt.pct(share)} of the workload's demand"
        if marginal == marginal:
            text += (
                ", in the periods where the plan's marginal token costs more "
                f"(up to USD {fmt.usd_rate(marginal)})"
            )
    else:
        text += "; not used"
    return text + "."
