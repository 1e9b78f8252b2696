"""The end of the horizon: what a commitment that runs past it costs (``horizon.end_effects``).

A reservation, a provisioned-throughput term or an owned build signed inside the horizon may
serve periods after its end. ``end_effects`` says how much of that tail the plan is charged
(``docs/formulation.md``, choice 3):

* ``full`` (the default): the whole term. The post-horizon periods of a rented or provisioned
  term are charged at the price in force in the horizon's last period, discounted at the
  horizon's rate; an owned build is charged its whole capex at first power (plus its O&M and
  electricity inside the horizon) instead of the annuity of its periods inside the horizon.
* ``prorate``: only the periods inside the horizon (capacity-expansion annualisation).
* ``salvage``: ``full`` less a stated value of the tail (``horizon.salvage`` or an offer
  override's ``salvage``): a ``fraction`` of the post-horizon cost, or ``usd_per_instance_hour``
  of the term left after the horizon. The value never exceeds the post-horizon cost, so a
  salvage value cannot make a commitment cheaper than ``prorate`` would.

Every commitment column also carries a tie-break cost of :data:`TIE_EPS` × (its whole-term
nominal value + its post-horizon nominal cost): among plans of equal cost the solver takes the
one with fewer commitments and less owed after the horizon. The reported objective excludes it.

Money here is USD per instance (the builder converts to MUSD); time in hours.
"""

from __future__ import annotations

import numpy as np

from hyperplan.errors import InputError, Problem
from hyperplan.plan.arrays import PlanInputs
from hyperplan.plan.offer_match import offer_mask
from hyperplan.plan.routes import OWNED
from hyperplan.scenario.timeline import HOURS_PER_YEAR

#: relative weight of the tie-break cost: a plan chosen with it costs at most
#: ``TIE_EPS × (whole-term value + post-horizon cost of its commitments)`` more than the optimum
#: (USD 10 per USD 1M committed)
TIE_EPS = 1e-5


def term_names(inp: PlanInputs) -> np.ndarray:
    """(O, K) the name of each offer's term: ``1y``, ``3y``, ``build`` or ``provisioned``."""
    O, K = len(inp.offers), len(inp.terms_years)
    names = np.array([f"{y}y" for y in inp.terms_years], dtype=object)
    out = np.tile(names, (O, 1)) if O else np.zeros((0, K), dtype=object)
    if inp.special_term >= 0 and O:
        out[:, inp.special_term] = np.where(inp.route == OWNED, "build", "provisioned")
    return out


def end_effect_inputs(inp: PlanInputs) -> None:
    """Fill ``inp``'s end-of-horizon arrays from the scenario (salvage values, owned capex).

    Raises:
        InputError: ``end_effects: salvage`` with no salvage value anywhere.
    """
    scenario = inp.scenario
    horizon = scenario.horizon
    O, K = len(inp.offers), len(inp.terms_years)
    inp.end_effects = horizon.end_effects
    frac = np.full((O, K), np.nan)
    per_hour = np.full((O, K), np.nan)
    names = term_names(inp)
    specs = [(np.ones(O, dtype=bool), horizon.salvage, "horizon.salvage")]
    specs += [
        (offer_mask(inp.offers, ov.match), ov.salvage, f"offers.overrides[{i}].salvage")
        for i, ov in enumerate(scenario.offers.overrides)
        if ov.salvage is not None
    ]
    given = [path for _mask, spec, path in specs if spec is not None]
    for mask, spec, _path in specs:  # later entries (overrides) win
        if spec is None:
            continue
        terms = None if spec.terms is None else {t.lower() for t in spec.terms}
        hit = mask[:, None] & (
            np.ones((O, K), dtype=bool) if terms is None else np.isin(names, list(terms))
        )
        frac[hit] = np.nan if spec.fraction is None else spec.fraction
        per_hour[hit] = np.nan if spec.usd_per_instance_hour is None else spec.usd_per_instance_hour
    inp.salvage_fraction = frac
    inp.salvage_usd_per_hour = per_hour
    source = getattr(scenario, "_source", None) or "<input>"
    if horizon.end_effects == "salvage" and not given:
        raise InputError(
            [
                Problem(
                    "end_effects salvage needs a salvage value: give horizon.salvage (fraction "
                    "or usd_per_instance_hour) or a salvage on an offer override",
                    file=source,
                    path="horizon.salvage",
                )
            ]
        )
    if horizon.end_effects != "salvage" and given:
        inp.warnings.append(
            f"{', '.join(given)} ignored: salvage values apply only with horizon.end_effects: "
            f"salvage (here {horizon.end_effects})"
        )
    capex = np.full(O, np.nan)
    annuity = np.zeros(O)
    ids = inp.offers.index.to_numpy()
    for oid, cost in inp.routes.owned.items():  # owned sites are few
        o = int(np.flatnonzero(ids == oid)[0])
        capex[o] = cost.capex
        annuity[o] = (cost.facility_annuity + cost.hardware_annuity) / HOURS_PER_YEAR
    inp.capex = capex
    inp.annuity_usd_per_hour = annuity


def _tail_discount(inp: PlanInputs, n: np.ndarray) -> np.ndarray:
    """Σ_{j<n} of the discount factors of the ``n`` periods after the horizon's end."""
    tl = inp.tl
    ppy = tl.periods_per_year
    years_end = (tl.end.toordinal() - tl.starts[0].toordinal()) / 365.25
    longest = int(n.max(initial=0))
    factors = (1.0 + tl.horizon.discount_rate) ** -(years_end + np.arange(longest) / ppy)
    cum = np.concatenate([[0.0], np.cumsum(factors)])
    return cum[n]


def commitment_ends(
    inp: PlanInputs,
    o: np.ndarray,
    k: np.ndarray,
    first: np.ndarray,
    owner: np.ndarray,
    t: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per commitment column (offer ``o``, term ``k``, first covered period ``first``; its covered
    periods inside the horizon are ``t`` of column ``owner``): USD per instance.

    Returns ``in_usd`` / ``in_usd_discounted`` (inside the horizon, as charged by ``prorate``),
    ``post_periods``, ``post_hours``, ``post_usd`` / ``post_usd_discounted`` (the cost after the
    horizon, as charged by ``full``), ``salvage_usd_discounted``, ``charge_usd_discounted`` (what
    the objective adds for the tail under the scenario's rule) and ``tiebreak_usd``.
    """
    tl = inp.tl
    T, n_cols = tl.periods, len(o)
    hours_per_period = HOURS_PER_YEAR / tl.periods_per_year
    unit = inp.reserved_price[o[owner], k[owner], t] * tl.hours[t]
    in_usd = np.bincount(owner, weights=unit, minlength=n_cols)
    in_disc = np.bincount(owner, weights=unit * tl.discount[t], minlength=n_cols)
    post_periods = np.maximum(first + inp.term_len[o, k] - T, 0)
    post_hours = post_periods * hours_per_period
    tail = _tail_discount(inp, post_periods)
    last = inp.reserved_price[o, k, T - 1] if T else np.zeros(n_cols)
    post_usd = last * post_hours
    post_disc = last * hours_per_period * tail
    build = (k == inp.special_term) & (inp.route[o] == OWNED)
    if build.any():
        # an owned build: its whole capex at first power instead of the capex annuity of the
        # periods it serves inside the horizon (O&M and electricity stay per hour inside)
        annuity = inp.annuity_usd_per_hour[o]
        ann_hours = np.bincount(owner, weights=tl.hours[t], minlength=n_cols)
        ann_disc = np.bincount(owner, weights=tl.hours[t] * tl.discount[t], minlength=n_cols)
        capex = np.nan_to_num(inp.capex[o])
        d_first = tl.discount[np.minimum(first, T - 1)]
        post_usd = np.where(build, capex - annuity * ann_hours, post_usd)
        post_disc = np.where(build, capex * d_first - annuity * ann_disc, post_disc)
    frac = inp.salvage_fraction[o, k]
    per_hour = inp.salvage_usd_per_hour[o, k]
    salvage = np.where(
        np.isfinite(frac),
        np.nan_to_num(frac) * post_disc,
        np.nan_to_num(per_hour) * hours_per_period * tail,
    )
    salvage = np.clip(salvage, 0.0, np.maximum(post_disc, 0.0))
    if inp.end_effects == "prorate":
        charge = np.zeros(n_cols)
    elif inp.end_effects == "salvage":
        charge = post_disc - salvage
    else:
        charge = post_disc.copy()
    if inp.end_effects != "salvage":
        salvage = np.zeros(n_cols)
    tiebreak = TIE_EPS * (in_usd + 2.0 * np.maximum(post_usd, 0.0))
    return {
        "in_usd": in_usd,
        "in_usd_discounted": in_disc,
        "post_periods": post_periods,
        "post_hours": post_hours,
        "post_usd": post_usd,
        "post_usd_discounted": post_disc,
        "salvage_usd_discounted": salvage,
        "charge_usd_discounted": charge,
        "tiebreak_usd": tiebreak,
    }
