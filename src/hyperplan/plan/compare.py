"""Compare strategies: the same scenario planned under different rules, judged on the same outages.

Strategies (strings, as on the command line):

- ``multi``: the scenario as written.
- ``single:<provider>``: only that provider; no share cap.
- ``no-share``: the share cap dropped.
- ``no-n1``: no outage scenarios in planning.
- ``greedy``: each workload alone, on-demand only, cheapest allowed offer (a per-job optimiser's
  choice, like SkyPilot's): no commitments, no share cap, no outage planning.
- ``rent-only``: the scenario without its owned sites and managed platforms.
- ``build-only``: GPU work (inference, training, batch) only on the owned sites, no managed
  platform; agents keep renting CPUs (an owned site holds GPU servers only). No share cap: the
  strategy concentrates GPU spend on a few sites by design (as ``single:<provider>`` does), and
  the reservations already held would otherwise break the cap while the sites are being built.
- ``managed-only``: inference only on the managed platforms, no owned site; other work rents.
  No share cap, for the same reason (a platform's spend counts with its host provider).

Every strategy's commitments are then *evaluated* in the full scenario with every provider-outage
scenario: reservations fixed, second stage re-optimised, so served fractions under each outage are
comparable across strategies even when a strategy did not plan for them.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from hyperplan.catalog import Catalog
from hyperplan.errors import InputError, Problem
from hyperplan.plan.api import Plan, Solved, _scenario_catalog, solve_scenario
from hyperplan.plan.build import build
from hyperplan.plan.inputs import resolve
from hyperplan.plan.progress import ProgressCallback, Reporter
from hyperplan.plan.results import resilience
from hyperplan.plan.solve import SolverOptions, make_highs, run, scaling_of
from hyperplan.scenario.schema import Scenario


def strategy_scenario(scenario: Scenario, strategy: str) -> Scenario:
    """The scenario a strategy plans."""
    s = scenario.model_copy(deep=True)
    if hasattr(scenario, "_base_dir"):
        s._base_dir = scenario._base_dir  # type: ignore[attr-defined]
    policies = s.policies.model_copy()
    if strategy == "multi":
        return s
    if strategy.startswith("single:"):
        name = strategy.split(":", 1)[1]
        providers = dict(s.providers) if s.providers else {}
        if providers and name not in providers:
            raise InputError(
                [
                    Problem(
                        f"strategy {strategy}: provider {name!r} is not in play "
                        f"(in play: {', '.join(providers)})",
                        path="--strategy",
                    )
                ]
            )
        from hyperplan.scenario.schema import Provider

        s.providers = {name: providers.get(name, Provider())}
        s.contracts = [c for c in s.contracts if c.provider == name]
        s.reservations = [r for r in s.reservations if r.provider == name]
        policies.max_share = None
    elif strategy == "no-share":
        policies.max_share = None
    elif strategy == "no-n1":
        policies.outages = "none"
    elif strategy == "rent-only":
        s.owned_sites = []
        s.managed_platforms = []
    elif strategy == "build-only":
        _needs(scenario, strategy, "owned_sites")
        s.managed_platforms = []
        s.workloads = [
            w.model_copy(update={"routes": ["rented"] if w.kind == "agents" else ["owned"]})
            for w in s.workloads
        ]
        policies.max_share = None
    elif strategy == "managed-only":
        _needs(scenario, strategy, "managed_platforms")
        s.owned_sites = []
        s.workloads = [
            w.model_copy(update={"routes": ["managed"] if w.kind == "inference" else ["rented"]})
            for w in s.workloads
        ]
        policies.max_share = None
    elif strategy == "greedy":
        policies.max_share = None
        policies.outages = "none"
        s.terms = []
        s.workloads = [w.model_copy(update={"markets": ["ondemand"]}) for w in s.workloads]
    else:
        raise InputError(
            [
                Problem(
                    f"unknown strategy {strategy!r}; expected multi, single:<provider>, "
                    "no-share, no-n1, greedy, rent-only, build-only or managed-only",
                    path="--strategy",
                )
            ]
        )
    s.policies = policies
    return s


def _needs(scenario: Scenario, strategy: str, group: str) -> None:
    if not getattr(scenario, group):
        raise InputError(
            [Problem(f"strategy {strategy}: the scenario has no {group}", path="--strategy")]
        )


def evaluation_scenario(full: Scenario, planned: Scenario) -> Scenario:
    """The scenario in which a plan's commitments are judged under outages.

    The full scenario (every provider and offer, its market ceilings, budgets, power caps and
    resilience targets, so a strategy is judged by the same rules as the plan of the full
    scenario) with every provider-outage scenario on; the share cap only where the plan being
    judged kept it (a single-provider plan breaks it by design and must still be judged).
    """
    outages = full.policies.outages if full.policies.outages != "none" else "providers"
    update: dict[str, object] = {"outages": outages}
    if planned.policies.max_share is None:
        update["max_share"] = None
    probe = full.model_copy(update={"policies": full.policies.model_copy(update=update)})
    if hasattr(full, "_base_dir"):
        probe._base_dir = full._base_dir  # type: ignore[attr-defined]
    return probe


def evaluate_outages(
    full: Scenario, solved: Solved, catalog: Catalog, progress: Reporter | None = None
) -> pd.DataFrame:
    """Served fractions of a plan's fixed commitments under every provider outage of ``full``.

    The one evaluation that ``plan`` and ``compare`` share: :func:`resilience` of the planning
    model of :func:`evaluation_scenario` with the plan's reservations fixed. When that model is
    the plan's own (the plan of the full scenario with its outages), the plan's own solution is
    that evaluation and is returned as is, so ``compare`` and ``plan`` print the same figures.
    """
    probe = evaluation_scenario(full, solved.inputs.scenario)
    if _same_problem(probe, solved.inputs.scenario):
        return resilience(solved.model, solved.solution)
    return evaluate_fixed(probe, solved, catalog, progress)


def evaluate_fixed(
    probe: Scenario, solved: Solved, catalog: Catalog, progress: Reporter | None = None
) -> pd.DataFrame:
    """:func:`resilience` of ``probe``'s planning model with ``solved``'s reservations fixed
    (matched by offer, term and start; the second stage re-optimised as a plain LP)."""
    inp_full = resolve(probe, catalog)
    pm = build(inp_full, integer=False, outages=True)
    lm = pm.lm
    fam = lm.cols["reserve"]
    ids_full = inp_full.offers.index.to_numpy()[fam.index["offer"]]
    key_full = pd.MultiIndex.from_arrays(
        [ids_full, np.array(inp_full.terms_years)[fam.index["term"]], fam.index["start"]]
    )
    own = solved.model.lm.cols["reserve"]
    values = solved.solution.col_value[own.slice]
    ids_own = solved.inputs.offers.index.to_numpy()[own.index["offer"]]
    key_own = pd.MultiIndex.from_arrays(
        [
            ids_own,
            np.array(solved.inputs.terms_years, dtype=int)[own.index["term"]]
            if len(own.index["term"])
            else np.zeros(0, dtype=int),
            own.index["start"],
        ]
    )
    chosen = pd.Series(values, index=key_own).groupby(level=[0, 1, 2]).sum()
    fixed = chosen.reindex(key_full).fillna(0.0).to_numpy()
    h = make_highs(lm, SolverOptions())  # served fractions only: a plain LP
    cols = np.arange(fam.start, fam.start + fam.size, dtype=np.int32)
    fixed = scaling_of(h).col_bounds(cols, fixed)  # HiGHS holds the scaled model
    h.changeColsBounds(len(cols), cols, fixed, fixed)
    sol = run(h, is_mip=False, progress=progress)
    if not sol.usable:
        return pd.DataFrame(
            columns=["workload", "scenario", "required_fraction", "served_fraction", "met"]
        )
    return resilience(pm, sol)


def _same_problem(a: Scenario, b: Scenario) -> bool:
    """Whether two scenarios state the same planning problem (names and texts aside)."""
    skip = {"name", "description"}
    return a.model_dump(exclude=skip) == b.model_dump(exclude=skip)


def compare(
    scenario: Scenario,
    strategies: list[str],
    *,
    catalog: Catalog | None = None,
    time_limit: float | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[pd.DataFrame, dict[str, Plan]]:
    """Plan each strategy; return a side-by-side table and the plans.

    Table columns: strategy, status, total_usd (nominal), npv_usd (present value), max_share,
    peak_mw, and ``served: <p> down`` = the
    smallest served fraction of any inference workload in the worst period of that outage.

    ``progress`` receives :class:`~hyperplan.plan.progress.ProgressEvent` figures: phases
    ``"compare <strategy> k/n"`` (its plan; done with that plan's ``objective_usd``) and
    ``"compare <strategy> k/n: outages"`` (its commitments judged under every outage).
    """
    reporter = Reporter.of(progress)
    catalog = catalog if catalog is not None else _scenario_catalog(scenario)
    options = SolverOptions(time_limit=time_limit)
    full_inputs = resolve(scenario, catalog)
    rows = []
    plans: dict[str, Plan] = {}
    inference = {
        n
        for n, k in zip(full_inputs.workload_names, full_inputs.kind, strict=True)
        if k == "inference"
    }
    for k, strategy in enumerate(strategies, 1):
        variant = strategy_scenario(scenario, strategy)
        phase = f"compare {strategy} {k}/{len(strategies)}"
        with reporter.phase(phase) if reporter else contextlib.nullcontext():
            solved = solve_scenario(variant, catalog=catalog, options=options, progress=reporter)
        plan = solved.plan
        plans[strategy] = plan
        cap = plan.tables["capacity"]
        mw = cap.groupby("period_index")["mw"].sum().max() if len(cap) else 0.0
        row = {
            "strategy": strategy,
            "status": plan.status,
            "total_usd": plan.total_usd,
            "npv_usd": plan.total_usd_discounted,
            "max_share": plan.max_provider_share,
            "peak_mw": float(mw),
        }
        with reporter.phase(f"{phase}: outages") if reporter else contextlib.nullcontext():
            res = evaluate_outages(scenario, solved, catalog, reporter)
        if len(res):
            # the strategy judged by the full scenario's rules: its misses (Plan.misses reads this
            # table) then say what the comparison table shows, never the strategy's own model
            plan.tables["resilience"] = res
        res = res[res["workload"].isin(inference)]
        for provider in full_inputs.providers:
            sel = res[res["scenario"] == f"{provider} down"]
            row[f"served: {provider} down"] = (
                float(sel["served_fraction"].min()) if len(sel) else np.nan
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["units"] = {"total_usd": "USD", "npv_usd": "USD (present value)", "peak_mw": "MW"}
    return table, plans
