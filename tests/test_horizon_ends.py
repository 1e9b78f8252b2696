"""End of the horizon (issue 12, point 1) and the defects of point 5, on hand-derived plans.

Conventions as in ``test_plan.py``: undiscounted yearly horizons unless said otherwise (2027 =
8760 h), ``outages: none``. Offers here are 8-GPU instances (``accelerators_per_instance: 8``)
with ``perf_tokens_per_s: {H100: 100}``, so one instance serves 800 tokens/s, and demand 8000
tokens/s needs 10 instances. Prices per instance-hour: on demand 30, 1-year 20, 3-year 12.

On a one-year horizon (2027) a 3-year term signed in 2027 serves 8760 h inside and 2 × 8760 h
after it (post-horizon periods are 8760 / periods-per-year hours each):

* ``prorate``: 3-year 10 × 12 × 8760 = 1 051 200 < 1-year 10 × 20 × 8760 = 1 752 000: 3-year wins;
* ``full``: 3-year 10 × 12 × 26 280 = 3 153 600 > 1 752 000: 1-year wins;
* ``salvage`` fraction f: 3-year 12 × 8760 + (1 − f) × 12 × 17 520 per instance = 20 × 8760
  iff f = 2/3; ``usd_per_instance_hour`` v: 12 × 8760 + (12 − v) × 17 520 = 20 × 8760 iff v = 8.
  At the break-even the tie goes to the 1-year term (less post-horizon liability).
"""

from __future__ import annotations

import pytest

import hyperplan.plan.ends as ends
from hyperplan.plan import solve_scenario
from plan_helpers import (
    OWNED_SITE,
    horizon,
    inference,
    offer,
    rows_of,
    scenario,
    tiny_catalog,
    total,
)

H2027 = 8760.0
NO_OUTAGES = {"outages": "none"}


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-6, abs=1e-6)


def _catalog(tmp_path, od: float = 30.0, r1: float | None = 20.0, r3: float | None = 12.0):
    extra = {"accelerators_per_instance": 8}
    if r1 is not None:
        extra["reserved_1y_usd_per_hour"] = r1
    if r3 is not None:
        extra["reserved_3y_usd_per_hour"] = r3
    return tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a8", od, **extra)])


def _one_year(tmp_path, end_effects: str | None, salvage: dict | None = None, rate: float = 0.0):
    hz = horizon(1)
    hz["discount_rate"] = rate
    if end_effects is not None:
        hz["end_effects"] = end_effects
    if salvage is not None:
        hz["salvage"] = salvage
    sc = scenario(
        horizon=hz, terms=[1, 3], workloads=[inference("chat", 8000)], policies=NO_OUTAGES
    )
    return solve_scenario(sc, catalog=_catalog(tmp_path)).plan


def _terms(plan) -> list[int]:
    return sorted(plan.tables["commitments"]["term_years"].tolist())


# ---------------------------------------------------------------------------------------------
# full versus prorate
# ---------------------------------------------------------------------------------------------


def test_three_year_term_wins_under_prorate(tmp_path) -> None:
    plan = _one_year(tmp_path, "prorate")
    assert _terms(plan) == [3]
    com = plan.tables["commitments"]
    assert com["instances"].sum() == approx(10.0)
    assert plan.objective_usd == approx(10 * 12 * H2027)  # 1 051 200
    # the liability is reported even though prorate does not charge it: 10 × 12 × 17 520
    assert com["post_horizon_usd"].sum() == approx(2_102_400.0)
    assert com["post_horizon_charged_usd_discounted"].sum() == approx(0.0)
    li = plan.tables["liability"]
    assert list(li["provider"]) == ["aws"]
    assert li["in_horizon_usd"].iloc[0] == approx(1_051_200.0)
    assert li["post_horizon_usd"].iloc[0] == approx(2_102_400.0)
    assert li["post_horizon_usd_discounted"].iloc[0] == approx(2_102_400.0)  # rate 0


def test_three_year_term_loses_under_full_the_default(tmp_path) -> None:
    for end_effects in ("full", None):  # None: the default is full
        plan = _one_year(tmp_path, end_effects)
        assert _terms(plan) == [1]
        assert plan.objective_usd == approx(10 * 20 * H2027)  # 1 752 000 < 3 153 600
        assert plan.tables["liability"]["post_horizon_usd"].sum() == approx(0.0)


def test_full_discounts_the_tail_at_the_horizons_rate(tmp_path) -> None:
    # 3-year cheap enough to win even under full: on demand 30, 1-year 20, 3-year 6. With an 8%
    # rate the two post-horizon years start 365/365.25 and 1 + 365/365.25 years after the start.
    cat = _catalog(tmp_path, r3=6.0)
    hz = {**horizon(1), "discount_rate": 0.08}
    sc = scenario(
        horizon=hz, terms=[1, 3], workloads=[inference("chat", 8000)], policies=NO_OUTAGES
    )
    plan = solve_scenario(sc, catalog=cat).plan
    com = plan.tables["commitments"]
    assert list(com["term_years"]) == [3]
    y = 365 / 365.25
    tail = 10 * 6.0 * 8760 * (1.08**-y + 1.08 ** -(y + 1))
    assert com["post_horizon_usd_discounted"].iloc[0] == approx(tail)
    assert com["post_horizon_usd"].iloc[0] == approx(10 * 6.0 * 17_520)
    # objective: the in-horizon year (d = 1) plus the whole discounted tail
    assert plan.objective_usd == approx(10 * 6.0 * H2027 + tail)


# ---------------------------------------------------------------------------------------------
# salvage: both sides of the break-even, and at it
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("salvage", "term"),
    [
        ({"fraction": 0.70}, 3),  # 12 + 0.30 × 24 = 19.2 < 20 per in-horizon hour
        ({"fraction": 2 / 3}, 1),  # exactly 20: the tie goes to less post-horizon liability
        ({"fraction": 0.63}, 1),  # 12 + 0.37 × 24 = 20.88 > 20
        ({"usd_per_instance_hour": 8.5}, 3),  # 12 + 2 × 3.5 = 19 < 20
        ({"usd_per_instance_hour": 8.0}, 1),  # exactly 20: tie, 1-year
        ({"usd_per_instance_hour": 7.5}, 1),  # 12 + 2 × 4.5 = 21 > 20
    ],
)
def test_salvage_break_even(tmp_path, salvage: dict, term: int) -> None:
    plan = _one_year(tmp_path, "salvage", salvage)
    assert _terms(plan) == [term]
    if term == 3:
        kept = salvage.get("fraction")
        per_instance = (
            12 * 8760 + (1 - kept) * 12 * 17_520
            if kept is not None
            else 12 * 8760 + (12 - salvage["usd_per_instance_hour"]) * 17_520
        )
        assert plan.objective_usd == approx(10 * per_instance)
        sal = plan.tables["commitments"]["salvage_usd_discounted"].sum()
        assert sal == approx(10 * (12 * 17_520 + 12 * 8760 - per_instance))
    else:
        assert plan.objective_usd == approx(10 * 20 * H2027)


def test_salvage_per_offer_override_and_term(tmp_path) -> None:
    # the horizon says nothing is recovered; the override recovers 70% of the 3-year tail of aws
    hz = {**horizon(1), "end_effects": "salvage", "salvage": {"fraction": 0.0}}
    over = {"match": {"provider": "aws"}, "salvage": {"fraction": 0.7, "terms": ["3y"]}}
    sc = scenario(
        horizon=hz,
        terms=[1, 3],
        workloads=[inference("chat", 8000)],
        policies=NO_OUTAGES,
        offers={"overrides": [over]},
    )
    plan = solve_scenario(sc, catalog=_catalog(tmp_path)).plan
    assert _terms(plan) == [3]
    assert plan.objective_usd == approx(10 * (12 * 8760 + 0.3 * 12 * 17_520))


def test_salvage_without_a_value_is_an_input_error(tmp_path) -> None:
    from hyperplan.errors import InputError

    with pytest.raises(InputError, match=r"horizon\.salvage|salvage value"):
        _one_year(tmp_path, "salvage")


# ---------------------------------------------------------------------------------------------
# tie-break: fewer commitments, less owed after the horizon
# ---------------------------------------------------------------------------------------------


def _take_or_pay(tmp_path):
    # 2027-2028, demand only in 2028; aws take-or-pay of 350 400 USD over 2027. An idle 1-year
    # reservation signed in 2027 (20 × 8760 = 175 200 USD per instance, 2 instances) costs
    # exactly the shortfall it avoids: the tie must go to the shortfall (no commitment).
    cat = _catalog(tmp_path, r3=None)
    sc = scenario(
        horizon=horizon(2),
        terms=[1],
        workloads=[inference("chat", [0, 8000])],
        policies=NO_OUTAGES,
        contracts=[
            {
                "name": "edp",
                "provider": "aws",
                "committed_usd": 350_400,
                "start": "2027-01-01",
                "end": "2028-01-01",
            }
        ],
    )
    return solve_scenario(sc, catalog=cat)


def test_equal_cost_tie_goes_to_the_shortfall_not_an_idle_reservation(tmp_path) -> None:
    solved = _take_or_pay(tmp_path)
    plan = solved.plan
    com = plan.tables["commitments"]
    # 2028: 10 one-year instances (20 < 30 on demand); nothing signed for idle 2027
    assert list(com["start"]) == ["2028"]
    assert com["instances"].sum() == approx(10.0)
    assert total(plan.tables["spend"], "usd", market="shortfall") == approx(350_400.0)
    assert plan.objective_usd == approx(350_400.0 + 10 * 20 * 8784)


def test_tie_break_moves_the_cost_by_less_than_its_stated_tolerance(tmp_path, monkeypatch) -> None:
    # without the tie-break the optimum has the same cost; the tie-break costs at most
    # TIE_EPS × (whole-term value + post-horizon cost) of the plan's commitments
    with_tb = _take_or_pay(tmp_path).plan
    monkeypatch.setattr(ends, "TIE_EPS", 0.0)
    without = _take_or_pay(tmp_path).plan
    com = with_tb.tables["commitments"]
    bound = 1e-5 * float((com["contract_value_usd"] + com["post_horizon_usd"]).sum())
    assert abs(with_tb.objective_usd - without.objective_usd) <= bound
    assert with_tb.objective_usd == approx(without.objective_usd)


# ---------------------------------------------------------------------------------------------
# point 5: defects
# ---------------------------------------------------------------------------------------------


def _share_plan(tmp_path, share_by: str, cap: float):
    """aws at 2 USD/h, nebius at 3 USD/h (1 H100 each), 10 instances, one year, on demand."""
    cat = tiny_catalog(
        tmp_path,
        [offer("aws", "us-east-1", "a1", 2.0), offer("nebius", "eu-north1", "b1", 3.0)],
    )
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        workloads=[inference("chat", 1000)],
        policies={**NO_OUTAGES, "max_share": {"aws": cap}, "share_by": share_by},
    )
    return solve_scenario(sc, catalog=cat).plan


@pytest.mark.parametrize("share_by", ["gpus", "spend"])
def test_share_cap_marginal_cost_matches_a_re_solve(tmp_path, share_by: str) -> None:
    # The share row of aws: a − cap × total ≤ 0 (a, total in GPUs or USD). Moving the cap by δ
    # moves the limit by δ × total, so the objective falls by marginal_usd × δ × total.
    # By hand (gpus): one more aws GPU saves (3 − 2) × 8760 = 8760 USD.
    plan = _share_plan(tmp_path, share_by, 0.5)
    pol = rows_of(plan.tables["policies"], policy="share")
    assert len(pol) == 1
    marginal = float(pol["marginal_usd"].iloc[0])
    delta = 1e-3
    moved = _share_plan(tmp_path, share_by, 0.5 + delta)
    if share_by == "gpus":
        assert marginal == approx(8760.0)
        base_total = float(plan.tables["capacity"]["gpus"].sum())  # 10 GPUs
    else:
        base_total = float(plan.tables["spend"]["usd"].sum())
    saved = plan.objective_usd - moved.objective_usd
    assert saved == pytest.approx(marginal * delta * base_total, rel=5e-3)


def test_no_reservation_columns_where_no_workload_may_reserve(tmp_path) -> None:
    cat = _catalog(tmp_path)
    sc = scenario(
        horizon=horizon(1),
        terms=[1, 3],
        workloads=[inference("chat", 8000, markets=["ondemand"])],
        # 10 instances on demand: lift the default market ceiling (64 GPUs), whose binding would
        # add unserved demand to the hand-derived objective
        offers={"ondemand_cap": "unlimited"},
        policies=NO_OUTAGES,
    )
    solved = solve_scenario(sc, catalog=cat)
    assert solved.model.lm.cols["reserve"].size == 0
    assert solved.model.lm.cols["capacity"].size == 0
    assert solved.plan.objective_usd == approx(10 * 30 * H2027)


def test_training_allocation_served_is_in_reference_gpus(tmp_path) -> None:
    # 8760 × 4 reference GPU-hours in 2027 on 1-H100 instances: 4 instances all year, each
    # serving 1 reference GPU at a time; Σ served × hours = the run's compute.
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 2.0)])
    run = {
        "name": "pretrain",
        "kind": "training",
        "compute_gpu_hours": 4 * H2027,
        "start": "2027-01-01",
        "deadline": "2028-01-01",
    }
    sc = scenario(horizon=horizon(1), terms=[], workloads=[run], policies=NO_OUTAGES)
    plan = solve_scenario(sc, catalog=cat).plan
    al = plan.tables["allocation"]
    assert set(al["unit"]) == {"reference GPUs"}
    assert al["served"].sum() == approx(4.0)
    assert (al["served"] * H2027).sum() == approx(4 * H2027)


# ---------------------------------------------------------------------------------------------
# owned builds: the whole capex under full, the annuity under prorate, salvage in between
# ---------------------------------------------------------------------------------------------

# The site of test_routes.py, undiscounted: capex F + H = 876 + 43 800 = 44 676 USD per server
# (1 H100, 1 kW, PUE 1), lives 10 / 3 years, O&M 1% of capex a year = 446.76 USD, electricity
# 0.1 USD/h. On a one-year horizon a server built in 2027 serves 8760 h (2 years of its 3-year
# life fall after the horizon):
#   prorate: (87.6 + 14 600 + 446.76) + 876 = 16 010.36 USD per server;
#   full:    44 676 + 446.76 + 876 = 45 998.76 USD per server (its post-horizon part is
#            44 676 − 14 687.6 = 29 988.4 USD of capex not annualised inside the horizon);
# renting at 3 USD/h costs 26 280 per instance-year: the build wins under prorate, loses under
# full; with salvage fraction f it wins iff 16 010.36 + (1 − f) × 29 988.4 < 26 280, i.e.
# f > 1 − 10 269.64 / 29 988.4 = 0.657546.
SITE = OWNED_SITE
PRORATE_BUILD = 87.6 + 14_600 + 446.76 + 876
FULL_BUILD = 44_676 + 446.76 + 876
POST_BUILD = 44_676 - (87.6 + 14_600)


def _build_or_rent(tmp_path, end_effects: str, salvage: dict | None = None):
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 3.0)])
    hz = {**horizon(1), "end_effects": end_effects}
    if salvage is not None:
        hz["salvage"] = salvage
    sc = scenario(
        horizon=hz,
        terms=[],
        workloads=[inference("chat", 1000)],
        owned_sites=[SITE],
        policies=NO_OUTAGES,
    )
    return solve_scenario(sc, catalog=cat).plan


def test_build_wins_under_prorate(tmp_path) -> None:
    plan = _build_or_rent(tmp_path, "prorate")
    com = plan.tables["commitments"]
    assert list(com["commitment"]) == ["build"]
    assert plan.objective_usd == approx(10 * PRORATE_BUILD)
    assert com["post_horizon_usd"].iloc[0] == approx(10 * POST_BUILD)


def test_build_loses_under_full_which_charges_its_whole_capex(tmp_path) -> None:
    plan = _build_or_rent(tmp_path, "full")
    assert plan.tables["commitments"].empty
    assert plan.objective_usd == approx(10 * 3.0 * H2027)  # 262 800 < 459 987.6


@pytest.mark.parametrize(("fraction", "built"), [(0.70, True), (0.60, False)])
def test_build_salvage_break_even(tmp_path, fraction: float, built: bool) -> None:
    plan = _build_or_rent(tmp_path, "salvage", {"fraction": fraction, "terms": ["build"]})
    com = plan.tables["commitments"]
    if built:
        assert list(com["commitment"]) == ["build"]
        assert plan.objective_usd == approx(10 * (PRORATE_BUILD + (1 - fraction) * POST_BUILD))
    else:
        assert com.empty
        assert plan.objective_usd == approx(10 * 3.0 * H2027)


def test_full_build_charge_is_the_whole_capex(tmp_path) -> None:
    # build forced (renting at 100 USD/h): the objective is capex + O&M + electricity
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 100.0)])
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        workloads=[inference("chat", 1000)],
        owned_sites=[SITE],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    assert list(plan.tables["commitments"]["commitment"]) == ["build"]
    assert plan.objective_usd == approx(10 * FULL_BUILD)
    li = plan.tables["liability"]
    assert li["post_horizon_usd"].iloc[0] == approx(10 * POST_BUILD)
    assert li["charged_usd_discounted"].iloc[0] == approx(10 * POST_BUILD)


# ---------------------------------------------------------------------------------------------
# the summary shows the liability next to the in-horizon cost (terminal, HTML, plan.json)
# ---------------------------------------------------------------------------------------------


def test_summary_shows_what_is_owed_after_the_horizon(tmp_path) -> None:
    import io

    from rich.console import Console

    from hyperplan.plan.api import Plan
    from hyperplan.report.html import render_report
    from hyperplan.report.terminal import print_plan

    plan = _one_year(tmp_path, "prorate")  # 3-year terms: USD 2.10M owed after 2027
    out = io.StringIO()
    print_plan(plan, Console(file=out, width=120, color_system=None))
    text = " ".join(out.getvalue().split())  # rich wraps long lines
    assert (
        "New commitments: USD 1.05M inside the horizon; USD 2.10M owed after it (present value "
        "USD 2.10M), NOT charged in the plan's cost (end_effects: prorate)." in text
    )
    assert "after horizon (PV)" in text
    html = render_report(plan)
    assert "Owed after the horizon" in html and "USD 2.10M owed after it" in html
    path = tmp_path / "plan.json"
    plan.to_json(path)
    again = Plan.from_json(path)
    assert again.tables["liability"]["post_horizon_usd"].iloc[0] == approx(2_102_400.0)
    # under full nothing is owed: the 1-year term fits the horizon
    full = _one_year(tmp_path, "full")
    out = io.StringIO()
    print_plan(full, Console(file=out, width=120, color_system=None))
    assert "USD 1.75M inside the horizon; nothing owed after it." in " ".join(
        out.getvalue().split()
    )


def test_equal_cut_fractions_are_listed_on_full_keys(tmp_path) -> None:
    # Demand is served by a 1-year reservation at 0.5 USD/h (0.005 USD per tok/s-hour). Three
    # identical offers in three regions, 1-year reserved at 2 USD/h, all enter at 0.5 USD/h:
    # cut 0.75 each. The catalog lists them west-2, east-2, east-1; the table lists them by
    # region whatever the input order or the sort algorithm of the pandas version.
    rows = [offer("aws", "us-east-1", "cheap", 1.0, reserved_1y_usd_per_hour=0.5)]
    rows += [
        offer("aws", region, "dear", 5.0, reserved_1y_usd_per_hour=2.0)
        for region in ("us-west-2", "us-east-2", "us-east-1")
    ]
    sc = scenario(
        horizon=horizon(1), terms=[1], workloads=[inference("chat", 1000)], policies=NO_OUTAGES
    )
    plan = solve_scenario(sc, catalog=tiny_catalog(tmp_path, rows)).plan
    entry = plan.tables["entry_prices"]
    dear = entry[entry["instance_type"] == "dear"]
    assert list(dear["cut_fraction"]) == [pytest.approx(0.75, abs=2e-5)] * 3  # tie-break: ε
    assert list(dear["region"]) == ["us-east-1", "us-east-2", "us-west-2"]


def test_salvage_value_under_another_rule_is_ignored_loudly(tmp_path) -> None:
    plan = _one_year(tmp_path, "full", {"fraction": 0.9})
    assert _terms(plan) == [1]  # 0.9 would make the 3-year term win under salvage
    assert any("horizon.salvage ignored" in w for w in plan.warnings)


def test_salvage_never_exceeds_the_post_horizon_cost(tmp_path) -> None:
    # a resale price of 15 USD/h above the 12 USD/h still owed: the tail is charged 0 (as under
    # prorate), never a credit that would pay the plan to sign terms it cannot use
    plan = _one_year(tmp_path, "salvage", {"usd_per_instance_hour": 15.0})
    assert _terms(plan) == [3]
    assert plan.objective_usd == approx(10 * 12 * H2027)
    com = plan.tables["commitments"]
    assert com["salvage_usd_discounted"].sum() == approx(10 * 12 * 17_520)
