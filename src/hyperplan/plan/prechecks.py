"""Feasibility pre-checks: limits that no plan can keep, refused before a model is built.

Each check returns located :class:`~hyperplan.errors.Problem` objects (or raises
:class:`~hyperplan.errors.InputError`, exit status 2) that say which limit, when, by how much and
what to change; :func:`hyperplan.plan.inputs.resolve` runs them on the inputs it resolves.
Money is USD, power MW, time periods of the horizon.
"""

from __future__ import annotations

import numpy as np

from hyperplan.errors import InputError, Problem
from hyperplan.plan.arrays import PlanInputs
from hyperplan.scenario.check import share_caps_message
from hyperplan.scenario.schema import Scenario


def source_of(scenario: Scenario) -> str:
    """The scenario's file for problems, ``<input>`` when it was not read from one."""
    return getattr(scenario, "_source", None) or "<input>"


def check_share_caps(scenario: Scenario, providers: list[str]) -> None:
    """Refuse share caps that the providers left in play cannot meet together.

    Checked here as well as in :mod:`hyperplan.scenario.check`: the offer filters may leave
    fewer providers with offers than the scenario names.

    Raises:
        InputError: at ``policies.max_share``.
    """
    message = share_caps_message(scenario.policies.max_share, providers)
    if message is not None:
        raise InputError([Problem(message, file=source_of(scenario), path="policies.max_share")])


def hard_limit_problems(inp: PlanInputs) -> list[Problem]:
    """Hard limits that the reservations already held break on their own (no plan can keep them).

    The budget counts the held reservations' spend and the power caps their draw, and neither
    can be undone by the plan; the model would be infeasible. Each problem says which limit,
    when, by how much, and what to change.
    """
    source = source_of(inp.scenario)
    tl = inp.tl
    problems: list[Problem] = []
    if len(inp.budget_years) and inp.existing_cost.any():
        spend = (inp.existing_cost * tl.hours[None, :]).sum(axis=0)  # (T,) USD
        year_of_t = np.searchsorted(inp.budget_years, tl.calendar_year)
        held = np.bincount(year_of_t, weights=spend, minlength=len(inp.budget_years))
        for y, (year, budget) in enumerate(zip(inp.budget_years, inp.budget_usd, strict=True)):
            if held[y] > budget * (1 + 1e-9) + 1.0:
                problems.append(
                    Problem(
                        f"the reservations already held cost {held[y]:,.0f} USD in {year}, above "
                        f"that year's budget of {budget:,.0f} USD: no plan can keep it; raise "
                        "the budget or check the reservations",
                        file=source,
                        path="policies.budget_usd_per_year",
                    )
                )
    if inp.existing.any():
        held_mw = inp.existing * inp.kw[:, None] / 1000.0  # (O, T)
        site_mw = np.zeros_like(inp.site_power_mw)
        np.add.at(site_mw, inp.offer_site, held_mw)
        for g, t in zip(*np.nonzero(site_mw > inp.site_power_mw * (1 + 1e-9) + 1e-6), strict=True):
            provider, region = inp.sites[g].split(":", 1)
            problems.append(
                Problem(
                    f"the reservations already held at {inp.sites[g]} draw {site_mw[g, t]:,.3g} "
                    f"MW in {tl.labels[t]}, above its power cap of {inp.site_power_mw[g, t]:,.3g} "
                    "MW: no plan can keep it; raise the cap or check the reservations",
                    file=source,
                    path=f"providers.{provider}.regions.{region}.power_mw",
                )
            )
        total = held_mw.sum(axis=0)
        for t in np.flatnonzero(total > inp.total_power_mw * (1 + 1e-9) + 1e-6):
            problems.append(
                Problem(
                    f"the reservations already held draw {total[t]:,.3g} MW in {tl.labels[t]}, "
                    f"above the total power cap of {inp.total_power_mw[t]:,.3g} MW: no plan can "
                    "keep it; raise policies.power_total_mw or check the reservations",
                    file=source,
                    path="policies.power_total_mw",
                )
            )
    problems += _share_problems(inp, source)
    return problems[:20]


def window_any(ok: np.ndarray, length: int) -> np.ndarray:
    """``out[..., t]`` = any ``ok[..., s]`` for ``t - length < s ≤ t`` (last axis)."""
    cs = np.cumsum(ok, axis=-1, dtype=np.int64)
    lagged = np.zeros_like(cs)
    if length < cs.shape[-1]:
        lagged[..., length:] = cs[..., :-length]
    return (cs - lagged) > 0


def _share_problems(inp: PlanInputs, source: str) -> list[Problem]:
    """Share caps that held reservations break in a period where no other provider can be bought.

    A provider's share can be brought under its cap by buying from the others (even capacity
    left idle); when none of them has anything to buy in that period, nothing can.
    """
    capped = np.flatnonzero(inp.max_share < 1.0)
    if not capped.size or not inp.existing.any():
        return []
    T, P = inp.tl.periods, len(inp.providers)
    if inp.share_by == "gpus":
        held_o = inp.existing * inp.gpus[:, None]
    else:
        held_o = inp.existing_cost * inp.tl.hours[None, :]
    held = np.zeros((P, T))
    np.add.at(held, inp.offer_provider, held_o)
    perf_pos = inp.perf > 0
    ok = inp.reservable()
    buyable_o = np.zeros((len(inp.offers), T), dtype=bool)
    for k, length in enumerate(inp.term_periods):
        buyable_o |= window_any(ok[:, k, :], int(length))
    training = inp.kind == "training"
    active = (inp.window & (training[:, None] | (inp.demand > 0))).astype(float)
    for m in (1, 2):
        who = (perf_pos & inp.market_ok[:, m][:, None]).T.astype(float)  # (O, W)
        buyable_o |= ((who @ active) > 0) & (inp.market_cap[:, m, :] > 0)
    buyable = np.zeros((P, T), dtype=bool)
    np.logical_or.at(buyable, inp.offer_provider, buyable_o)
    out = []
    unit = "GPUs" if inp.share_by == "gpus" else "spend"
    for p in capped:
        others = np.delete(np.arange(P), p)
        stuck = (
            held[p] > inp.max_share[p] * held.sum(axis=0) + 1e-6 * held.sum(axis=0) + 1e-3
        ) & ~buyable[others].any(axis=0)
        for t in np.flatnonzero(stuck)[:3]:
            share = held[p, t] / held[:, t].sum()
            out.append(
                Problem(
                    f"the reservations already held with {inp.providers[p]} are {share:.0%} of "
                    f"{unit} in {inp.tl.labels[t]}, above max_share {inp.max_share[p]:g}, and no "
                    "other provider has anything a workload can use then: no plan can keep the "
                    "cap; raise max_share, or let workloads use other providers in that period",
                    file=source,
                    path="policies.max_share",
                )
            )
    return out
