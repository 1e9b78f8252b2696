"""``plan(scenario) -> Plan``: resolve, build, solve, read results; ``Plan`` round-trips to JSON."""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hyperplan.artifacts import PLAN_SCHEMA
from hyperplan.catalog import Catalog, load_catalog
from hyperplan.errors import HyperplanError, InputError, Problem, SolverError
from hyperplan.plan.artifact import Plan
from hyperplan.plan.build import PlanningModel, build
from hyperplan.plan.context import Limits, Outage, Outages, PlanContext
from hyperplan.plan.estimate import check_memory, estimate
from hyperplan.plan.inputs import PlanInputs, provider_settings, region_settings, resolve
from hyperplan.plan.numerics import numerics_warnings
from hyperplan.plan.progress import ProgressCallback, Reporter
from hyperplan.plan.results import tables
from hyperplan.plan.sensitivity import walk_away_values
from hyperplan.plan.solve import Solution, SolverOptions, make_highs, run, solve
from hyperplan.plan.solved import Solved
from hyperplan.plan.verify import verify
from hyperplan.scenario.files import FileAccessError, resolve_scenario_file
from hyperplan.scenario.schema import OutageModel, Provider, Scenario

__all__ = ["PLAN_SCHEMA", "Plan", "PlanContext", "Solved", "plan", "solve_scenario"]
#: values of ``method`` that choose the solve's structure rather than the LP algorithm
STRUCTURES = ("auto", "monolithic", "decomposed")


# ----------------------------------------------------------------------------------------------


def solve_scenario(
    scenario: Scenario,
    *,
    catalog: Catalog | None = None,
    integer: bool | None = None,
    outages: bool = True,
    options: SolverOptions | None = None,
    memory_limit: int | None = None,
    structure: str = "monolithic",
    workers: int | None = None,
    ray: str | None = None,
    walk_away: bool = False,
    progress: ProgressCallback | Reporter | None = None,
) -> Solved:
    """Resolve, estimate, build and solve; return the plan with the model behind it.

    Args:
        scenario: a validated scenario.
        catalog: offers to use (default: the bundled catalog plus the scenario's own CSVs).
        integer: whole instances (MILP); default the scenario's ``integer``.
        outages: plan the outage scenarios.
        options: solver options (time limit, gap, method).
        memory_limit: bytes the model may take; default ``$HYPERPLAN_MEMORY_LIMIT_BYTES`` or
            the machine's available memory (see :mod:`hyperplan.plan.estimate`).
        structure: ``monolithic`` (one LP/MILP), ``decomposed`` (Benders over the outage
            scenarios, :mod:`hyperplan.plan.decompose`) or ``auto`` (chosen from the size
            estimate: :func:`hyperplan.plan.decompose_choice.choose`); the choice and why are
            in ``plan.stats`` (``solve_method``, ``solve_method_reason``).
        workers: processes for a decomposed solve's subproblems (default: chosen from its size).
        ray: ``auto`` or a Ray cluster address: a decomposed solve's subproblems on Ray.
        walk_away: with a decomposed solve, compute walk-away values by the decomposed loop
            (``plan.tables["walk_away"]``).
        progress: called with live :class:`~hyperplan.plan.progress.ProgressEvent` figures
            of the solve, then a done event with the plan's ``objective_usd``.

    Raises:
        InputError: contradictory policies; :class:`~hyperplan.plan.estimate.ModelTooLarge`
            when the model would not fit in memory (nothing is built).
        SolverError: the solver stopped (time limit) before it found a feasible plan.
        HyperplanError: no plan, or a plan that fails the independent check.
    """
    catalog = catalog if catalog is not None else _scenario_catalog(scenario)
    integer = scenario.integer if integer is None else integer
    t0 = time.perf_counter()
    inputs = resolve(scenario, catalog)
    size = estimate(inputs, integer=integer, outages=outages)
    from hyperplan.plan.decompose_choice import choose

    reporter = Reporter.of(progress)
    choice = choose(inputs, size, structure, outages=outages, available=memory_limit)
    decomposed = None
    if choice.method == "decomposed":
        from hyperplan.plan.decompose import solve_decomposed

        n_workers = choice.workers if workers is None else workers
        decomposed = solve_decomposed(
            inputs,
            integer=integer,
            options=options,
            workers=n_workers,
            ray=ray,
            walk_away=walk_away,
        )
        pm, solution = decomposed.model, decomposed.solution
        build_seconds = decomposed.stats["master_build_seconds"]
    else:
        check_memory(size, inputs, available=memory_limit, outages=outages)
        pm = build(inputs, integer=integer, outages=outages)
        build_seconds = time.perf_counter() - t0
        with reporter.phase("plan", default=True) if reporter else contextlib.nullcontext():
            solution = solve(pm.lm, options, reporter)
    if not solution.usable:
        raise _no_plan(solution, pm, options)
    t1 = time.perf_counter()
    result_tables = tables(pm, solution)
    objective_usd = solution.objective / 1e-6 - tiebreak_usd(pm, solution)
    stats = {
        "status": solution.status,
        "objective_usd": objective_usd,
        "mip_gap": solution.mip_gap if solution.mip_gap is not None else float("nan"),
        "build_seconds": build_seconds,
        "solve_seconds": solution.seconds,
        "results_seconds": time.perf_counter() - t1,
        "rows": pm.lm.n_rows,
        "columns": pm.lm.n_cols,
        "nonzeros": solution.nonzeros,
        "estimated_bytes": size.bytes,
        "integer": pm.lm.is_mip,
        "simplex_iterations": solution.simplex_iterations,
        "solve_method": choice.method,
        "solve_method_reason": choice.reason,
    }
    if decomposed is not None:
        stats.update({k: v for k, v in decomposed.stats.items() if k != "solve_method"})
        stats["nonzeros"] = pm.lm.matrix().nnz
    status, stop_warning = _honest_status(solution, pm, options)
    warnings = list(inputs.warnings)
    if stop_warning:
        warnings.insert(0, stop_warning)
    warnings += numerics_warnings(pm.lm, solution)
    warnings += unserved_warnings(pm, result_tables)
    plan_obj = Plan(
        scenario_name=scenario.name,
        status=status,
        objective_usd=objective_usd,
        tables=result_tables,
        stats=stats,
        warnings=warnings,
        context=plan_context(scenario, inputs),
    )
    t2 = time.perf_counter()
    violations = verify(plan_obj)
    plan_obj.stats["verify_seconds"] = time.perf_counter() - t2
    if decomposed is not None and decomposed.walk_away is not None:
        plan_obj.tables["walk_away"] = decomposed.walk_away
    if violations:
        shown = "\n  ".join(violations[:20])
        raise HyperplanError(
            f"the solver's plan fails the independent check ({len(violations)} violations); "
            f"this is a bug or a numerical failure, not a plan:\n  {shown}"
        )
    if reporter is not None:
        with reporter.phase("plan", default=True):
            reporter.emit(
                done=True,
                objective=objective_usd,
                simplex_iterations=solution.simplex_iterations,
                mip_gap=solution.mip_gap if pm.lm.is_mip else None,
            )
    return Solved(inputs, pm, solution, plan_obj)


def tiebreak_usd(pm: PlanningModel, solution: Solution) -> float:
    """The tie-break part of the solver's objective (``plan/ends.py``), USD: reported
    objectives leave it out."""
    fam = pm.lm.cols.get("reserve")
    if fam is None or pm.ends is None or not len(solution.col_value):
        return 0.0
    return float(pm.ends["tiebreak_usd"] @ solution.col_value[fam.slice])


def _no_plan(solution: Solution, pm: PlanningModel, options: SolverOptions | None) -> Exception:
    """The error for a solve that yields no usable plan, saying what to change."""
    size = f"{pm.lm.n_rows:,} rows × {pm.lm.n_cols:,} columns"
    if solution.stopped_early:
        limit = options.time_limit if options is not None else None
        what = (
            f"the time limit ({limit:g} s)"
            if solution.status == "time limit" and limit is not None
            else f"its {solution.status}"
        )
        found = (
            "an LP stopped early has no feasible point to show"
            if not pm.lm.is_mip
            else "branch and bound had not found a feasible plan yet"
        )
        return SolverError(
            f"the solver reached {what} after {solution.seconds:.1f} s before it found a "
            f"feasible plan ({found}); no plan is presented. Raise --time-limit, or shrink the "
            f"model ({size}): fewer periods, outage scenarios (--no-outages), workloads or offers"
        )
    culprits, together = (
        _conflicting_limits(pm, options) if solution.status == "infeasible" else ([], False)
    )
    if culprits:
        named = (" together with " if together else " or ").join(culprits)
        why = (
            f"the hard limits cannot all hold: relaxing {named} makes a plan possible "
            "(reservations already held count against max_share, budgets and power caps and "
            "cannot be undone); raise or remove "
            + ("it" if len(culprits) == 1 else "one of them" if not together else "them")
        )
    else:
        why = (
            "unserved demand is always allowed at a penalty, so this points at contradictory "
            "hard limits: reservations already held that a max_share, budget or power cap "
            "cannot accommodate (held capacity cannot be undone); relax those limits"
        )
    return HyperplanError(f"the solver found no plan (status: {solution.status}): {why}")


#: Row families of each hard limit a user can relax, as the scenario names it.
HARD_LIMITS = {
    "policies.max_share": ("share",),
    "policies.budget_usd_per_year": ("budget",),
    "the power caps (power_total_mw, regions' power_mw)": ("power-site", "power-total"),
    "training max_instances": ("training-instances",),
    "offers' supply": ("supply",),
    "offers' ondemand_cap/spot_cap": ("pool-market",),
}


def _conflicting_limits(pm: PlanningModel, options: SolverOptions | None) -> tuple[list[str], bool]:
    """Which hard limits make the model infeasible: every family whose removal alone makes it
    feasible (``together=False``), else the first pair that does (``together=True``). A few
    re-solves of the infeasible model, on the failure path only."""
    present = {
        name: [pm.lm.rows[f] for f in families if f in pm.lm.rows]
        for name, families in HARD_LIMITS.items()
    }
    present = {k: v for k, v in present.items() if v}
    base = SolverOptions(time_limit=10.0, method=options.method if options else "simplex")

    def feasible_without(group: tuple[str, ...]) -> bool:
        h = make_highs(pm.lm, base)
        for name in group:
            for fam in present[name]:
                rows = np.arange(fam.start, fam.start + fam.size, dtype=np.int32)
                n = len(rows)
                h.changeRowsBounds(n, rows, np.full(n, -np.inf), np.full(n, np.inf))
        return run(h, is_mip=pm.lm.is_mip).status == "optimal"

    singles = [name for name in present if feasible_without((name,))]
    if singles:
        return singles, False
    for pair in itertools.combinations(present, 2):
        if feasible_without(pair):
            return list(pair), True
    return [], False


def _honest_status(
    solution: Solution, pm: PlanningModel, options: SolverOptions | None
) -> tuple[str, str | None]:
    """The plan's status, and a warning when the solver stopped before proving optimality."""
    if not solution.stopped_early:
        return solution.status, None
    gap = solution.mip_gap
    if pm.lm.is_mip and gap is not None and math.isfinite(gap):
        status = f"{solution.status}, gap {gap:.1%}"
        detail = f"gap {gap:.1%}: no plan can cost less than {1 - gap:.1%} of this one"
    else:
        status = f"{solution.status}, not proven optimal"
        detail = "how far it is from the optimum is unknown"
    warning = (
        f"the solver stopped at its {solution.status} after {solution.seconds:.1f} s: this is the "
        f"best feasible plan found, not a proven optimum ({detail}); raise --time-limit for a "
        "better one"
    )
    return status, warning


def unserved_warnings(pm: PlanningModel, result: dict[str, pd.DataFrame]) -> list[str]:
    """One warning per workload with unserved base demand: how much, and why (what to change)."""
    inp = pm.inputs
    uns = result["unserved"]
    if not len(uns):
        return []
    base = uns[uns["scenario"] == "base"]
    found: list[tuple[str, str, str]] = []
    binding = result.get("policies")
    limits = (
        sorted(set(binding["policy"]) - {"supply"}) if binding is not None and len(binding) else []
    )
    has_cols = np.zeros(len(inp.workload_names), dtype=bool)
    fam = pm.lm.cols.get("allocate")
    if fam is not None:
        has_cols[np.unique(fam.index["workload"][fam.index["scenario"] == 0])] = True
    index = {n: i for i, n in enumerate(inp.workload_names)}
    for name, grp in base.groupby("workload", sort=False):
        w = index[str(name)]
        if not (inp.perf[w] > 0).any():
            continue  # resolve() already warned: no offer in play can serve it
        if inp.kind[w] == "training":
            need = float(inp.compute[w])
        else:
            need = float((inp.demand[w] * inp.window[w]).sum())
        share = float(grp["amount"].sum()) / need if need > 0 else 1.0
        if share < 1e-6:
            continue
        if not has_cols[w]:
            why = (
                "no capacity can serve it: every offer it may use has no on-demand or spot "
                "capacity (ondemand_cap/spot_cap 0, or no price), no reservation term (terms, "
                "reserved prices, supply) and no existing reservation; raise the caps, add terms "
                "or widen its providers, regions and accelerators"
            )
        elif limits:
            why = (
                f"the binding limits ({', '.join(limits)}) leave too little capacity; their "
                "marginal values are in the policies table"
            )
        else:
            why = (
                "serving it would cost more than its unserved penalty (or the capacity it may "
                "use is capped); see the unserved and policies tables"
            )
        amount = "all" if share > 1 - 1e-6 else f"{share:.1%}"
        found.append((str(name), amount, why))
    if len(found) <= 5:
        return [
            f"workload {n}: {a} of its base-scenario demand is unserved: {why}"
            for n, a, why in found
        ]
    by_reason: dict[str, list[str]] = {}
    for n, a, why in found:
        by_reason.setdefault(why, []).append(f"{n} ({a})")
    return [
        f"{len(names)} workloads have unserved base-scenario demand ({_some(names)}): {why}"
        for why, names in by_reason.items()
    ]


def _some(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown}, +{len(names) - most} more"


def plan_context(scenario: Scenario, inputs: PlanInputs) -> PlanContext:
    """What a plan made from ``scenario`` records: its periods, names, limits, outage models and
    a copy of the scenario (the plan keeps it as it was when planned)."""
    return PlanContext(
        periods=tuple(inputs.tl.labels),
        providers=tuple(inputs.providers),
        scenarios=tuple(inputs.scenario_names),
        workloads=tuple(inputs.workload_names),
        kinds=tuple(inputs.kind),
        target_gw=scenario.policies.target_gw,
        budget_usd={
            str(y): float(v) for y, v in zip(inputs.budget_years, inputs.budget_usd, strict=True)
        },
        max_share=scenario.policies.max_share,
        period_starts=tuple(inputs.tl.starts),
        outages=_outage_models(scenario, inputs),
        limits=_limits(inputs),
        scenario=scenario.model_copy(deep=True),
    )


def _limits(inputs: PlanInputs) -> Limits:
    """Policy limits (None = no limit), for verification and reports."""

    def clean(values: np.ndarray) -> list[float | None]:
        return [float(v) if np.isfinite(v) else None for v in values]

    return Limits(
        max_share=dict(zip(inputs.providers, map(float, inputs.max_share), strict=True)),
        share_by=inputs.share_by,
        site_power_mw={
            site: clean(inputs.site_power_mw[g])
            for g, site in enumerate(inputs.sites)
            if np.isfinite(inputs.site_power_mw[g]).any()
        },
        total_power_mw=clean(inputs.total_power_mw),
        budget_usd={
            str(int(y)): float(b)
            for y, b in zip(inputs.budget_years, inputs.budget_usd, strict=True)
        },
        terms_periods=dict(
            zip(map(str, inputs.terms_years), map(int, inputs.term_periods), strict=True)
        ),
    )


def _outage(model: OutageModel) -> Outage:
    return Outage(**model.model_dump())


def _outage_models(scenario: Scenario, inputs: PlanInputs) -> Outages:
    """Outage model of every provider and region in play (scenario values or defaults)."""
    providers = {}
    regions = {}
    settings = provider_settings(scenario)
    for name in inputs.providers:
        prov = settings.get(name.lower(), Provider())
        owned = inputs.routes.outages.get(name)
        if owned is not None:  # an owned site is one failure domain with its own model
            providers[name] = _outage(owned)
            continue
        providers[name] = _outage(prov.outage)
        for key in inputs.sites:
            p, region = key.split(":", 1)
            if p != name:
                continue
            reg = region_settings(prov).get(region.lower())
            model = reg.outage if reg is not None and reg.outage is not None else OutageModel()
            regions[key] = _outage(model)
    return Outages(providers=providers, regions=regions)


def _scenario_catalog(scenario: Scenario) -> Catalog:
    base_dir: Path | None = getattr(scenario, "_base_dir", None)

    def resolve_path(p: str) -> str:  # confined to the scenario's folders (scenario.files)
        try:
            return str(resolve_scenario_file(p, base_dir))
        except FileAccessError as exc:
            raise InputError([Problem(str(exc), file=getattr(scenario, "_source", None))]) from None

    user = tuple(resolve_path(p) for p in scenario.offers.catalog_csv)
    sky = tuple((resolve_path(s.path), s.provider) for s in scenario.offers.skypilot_csv)
    if not user and not sky:
        return load_catalog()
    return load_catalog(user_csvs=user, skypilot=sky)


def plan(
    scenario: Scenario,
    *,
    catalog: Catalog | None = None,
    integer: bool | None = None,
    outages: bool = True,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    method: str = "simplex",
    walk_away: bool = False,
    workers: int | None = None,
    highs_options: dict[str, Any] | None = None,
    ray: str | None = None,
    progress: ProgressCallback | None = None,
) -> Plan:
    """Plan a scenario: commitments, placement, costs, resilience and negotiation figures.

    Args:
        scenario: a validated :class:`~hyperplan.scenario.Scenario`.
        catalog: offers to use (default: the bundled catalog plus the scenario's own CSVs).
        integer: whole instances (MILP); default the scenario's ``integer``.
        outages: plan for the scenario's outage cases (``False``: base scenario only).
        time_limit: solver time limit, seconds.
        mip_gap: relative MIP gap.
        method: the LP algorithm of one monolithic solve, "simplex", "ipm" or "choose"; or the
            structure: "monolithic" (= simplex), "decomposed" (Benders over the outage
            scenarios, subproblems by dual simplex) or "auto" (chosen from the size estimate;
            ``plan.stats["solve_method"]`` says which).
        walk_away: also compute each provider's walk-away value (one re-solve per provider).
        workers: processes for the walk-away re-solves or a decomposed solve's subproblems
            (default: up to the CPU count; a decomposed solve chooses from its size).
        ray: ``auto`` or a Ray cluster address: a decomposed solve's subproblems run on Ray.
        highs_options: further HiGHS options of the main solve, by name (e.g. ``{"output_flag":
            True}`` for its log, as ``hyperplan plan -v`` does).
        progress: called with :class:`~hyperplan.plan.progress.ProgressEvent` figures while
            HiGHS works (at most 10 a second), and once per finished solve (``done``): phases
            ``"plan"``, then ``"walk-away <provider> k/n"``. Return True (or raise) to cancel.

    Example::

        >>> from hyperplan import load_scenario, plan
        >>> result = plan(load_scenario("examples/small.yaml"), walk_away=True)
        >>> list(result.walk_away.columns[:3])
        ['provider', 'status', 'objective_without_usd']
    """
    structure = "monolithic"
    if method in STRUCTURES:
        structure, method = method, "simplex"
    options = SolverOptions(
        method=method,  # type: ignore[arg-type]
        time_limit=time_limit,
        mip_gap=mip_gap,
        highs_options=dict(highs_options or {}),
    )
    reporter = Reporter.of(progress)
    solved = solve_scenario(
        scenario,
        catalog=catalog,
        integer=integer,
        outages=outages,
        options=options,
        structure=structure,
        workers=workers,
        ray=ray,
        walk_away=walk_away,
        progress=reporter,
    )
    if walk_away and "walk_away" not in solved.plan.tables:
        solved.plan.tables["walk_away"] = walk_away_values(
            solved, workers=workers, progress=reporter
        )
    return solved.plan
