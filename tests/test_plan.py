"""Correctness of the planner on tiny catalogs whose optimal plans are derived by hand.

Conventions of every test here (see ``plan_helpers``):

* offers are 1-GPU H100 instances unless said otherwise; inference perf is given explicitly as
  ``perf_tokens_per_s: {H100: 100}``, so one instance serves 100 tokens/s and no estimate is used;
* horizons are undiscounted (``discount_rate: 0``, d_t = 1) and in calendar hours:
  2027 = 365 d = 8760 h, 2028 = 366 d = 8784 h, 2029 = 8760 h;
* ``outages: none`` unless the test is about outages, so the base scenario has weight 1 and the
  objective equals the base plan's spend plus unserved penalties;
* ``terms: []`` when reservations are not the subject, so only on-demand is in play.
"""

from __future__ import annotations

import pytest

from hyperplan.plan import solve_scenario
from plan_helpers import (
    horizon,
    inference,
    offer,
    rows_of,
    scenario,
    tiny_catalog,
    total,
)

H2027 = 8760.0
H2028 = 8784.0
H2029 = 8760.0
NO_OUTAGES = {"outages": "none"}


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-6, abs=1e-9)


def approx_dual(value: float) -> object:
    """A dual read where a commitment is marginal: it carries the tie-break cost of commitments
    (``hyperplan.plan.ends.TIE_EPS`` = 1e-5 of their value, docs/formulation.md choice 3)."""
    return pytest.approx(value, rel=2e-5, abs=1e-9)


def two_offers(tmp_path, a: dict | None = None, b: dict | None = None):
    """Offer A: aws us-east-1 at 2 USD/h; offer B: nebius eu-north1 at 3 USD/h (1 H100 each)."""
    return tiny_catalog(
        tmp_path,
        [
            offer("aws", "us-east-1", "a1", 2.0, **(a or {})),
            offer("nebius", "eu-north1", "b1", 3.0, **(b or {})),
        ],
    )


# ---------------------------------------------------------------------------------------------
# 1. the cheaper offer wins
# ---------------------------------------------------------------------------------------------


def test_cheaper_offer_takes_all_demand(tmp_path) -> None:
    cat = two_offers(tmp_path)
    sc = scenario(
        horizon=horizon(1), terms=[], workloads=[inference("chat", 1000)], policies=NO_OUTAGES
    )
    plan = solve_scenario(sc, catalog=cat).plan
    # 1000 tok/s / 100 tok/s per instance = 10 instances; A (2 USD/h) beats B (3 USD/h).
    # spend = 10 × 2 USD/h × 8760 h = 175 200 USD, all with aws on demand.
    alloc = plan.tables["allocation"]
    assert set(alloc["provider"]) == {"aws"}
    assert total(alloc, "instances", provider="aws", market="ondemand") == approx(10.0)
    assert total(alloc, "served") == approx(1000.0)
    spend = plan.tables["spend"]
    assert list(spend["provider"]) == ["aws"]
    assert list(spend["market"]) == ["ondemand"]
    assert spend["usd"].sum() == approx(175_200.0)
    assert plan.objective_usd == approx(175_200.0)
    assert plan.tables["unserved"].empty


# ---------------------------------------------------------------------------------------------
# 2. a 3-year term beats on demand exactly above the break-even utilisation
# ---------------------------------------------------------------------------------------------

# Horizon 2027-2029 = 8760 + 8784 + 8760 = 26 304 h. Demand 1000 tok/s in 2027 only: utilisation
# of a 3-year instance signed in 2027 is u = 8760 / 26 304 = 0.333029... A 3-year instance costs
# r × 26 304 (every covered period is inside the horizon), serving 2027 on demand costs c × 8760,
# so reserving wins iff r × 26 304 < c × 8760, i.e. iff u > r / c. With c = 3 USD/h the
# break-even reserved price is r* = 3 × 8760 / 26 304 = 0.999088 USD/h.
THREE_YEARS = H2027 + H2028 + H2029
BREAK_EVEN_U = H2027 / THREE_YEARS


def _term_plan(tmp_path, reserved_3y: float):
    cat = tiny_catalog(
        tmp_path, [offer("aws", "us-east-1", "a1", 3.0, reserved_3y_usd_per_hour=reserved_3y)]
    )
    sc = scenario(
        horizon=horizon(3),
        terms=[3],
        workloads=[inference("chat", [1000, 0, 0])],
        policies=NO_OUTAGES,
    )
    return solve_scenario(sc, catalog=cat).plan


def test_three_year_term_taken_just_above_break_even_utilisation(tmp_path) -> None:
    r = 0.99  # r / c = 0.33 < u = 0.333029
    assert r / 3.0 < BREAK_EVEN_U
    plan = _term_plan(tmp_path, r)
    com = plan.tables["commitments"]
    assert len(com) == 1
    assert com.loc[0, "term_years"] == 3
    assert com.loc[0, "start_index"] == 0
    assert com.loc[0, "instances"] == approx(10.0)
    # 10 instances × 0.99 USD/h × 26 304 h = 260 409.6 USD (< 262 800 on demand)
    assert com.loc[0, "in_horizon_usd"] == approx(260_409.6)
    # whole-term value uses 3 × 8760 h: 10 × 0.99 × 26 280 = 260 172 USD
    assert com.loc[0, "contract_value_usd"] == approx(260_172.0)
    spend = plan.tables["spend"]
    assert set(spend["market"]) == {"reserved"}
    # spread over the three years: 10 × 0.99 × (8760, 8784, 8760)
    assert list(spend.sort_values("period_index")["usd"]) == [
        approx(86_724.0),
        approx(86_961.6),
        approx(86_724.0),
    ]
    assert plan.objective_usd == approx(260_409.6)
    assert total(plan.tables["allocation"], "instances", market="ondemand") == 0.0


def test_three_year_term_refused_just_below_break_even_utilisation(tmp_path) -> None:
    r = 1.01  # r / c = 0.336667 > u = 0.333029
    assert r / 3.0 > BREAK_EVEN_U
    plan = _term_plan(tmp_path, r)
    assert plan.tables["commitments"].empty
    # on demand in 2027 only: 10 × 3 USD/h × 8760 h = 262 800 USD (< 10 × 1.01 × 26 304)
    spend = plan.tables["spend"]
    assert list(spend["market"]) == ["ondemand"]
    assert list(spend["period_index"]) == [0]
    assert spend["usd"].sum() == approx(262_800.0)
    assert plan.objective_usd == approx(262_800.0)


def test_term_entry_price_is_the_break_even_price(tmp_path) -> None:
    # The refused 3-year term enters at the break-even price r* = 3 × 8760 / 26 304.
    plan = _term_plan(tmp_path, 1.01)
    entry = plan.tables["entry_prices"]
    row = rows_of(entry, instance_type="a1", term_years=3)
    assert len(row) == 1
    assert row["entry_usd_per_hour"].iloc[0] == approx(3.0 * BREAK_EVEN_U)
    assert row["best_start"].iloc[0] == "2027"


# ---------------------------------------------------------------------------------------------
# 3. max_share 0.5 splits SPEND 50/50 and costs exactly the hand amount
# ---------------------------------------------------------------------------------------------


def test_max_share_half_splits_spend_and_raises_cost(tmp_path) -> None:
    cat = two_offers(tmp_path)
    base = {"horizon": horizon(1), "terms": [], "workloads": [inference("chat", 1000)]}
    free = solve_scenario(scenario(**base, policies=NO_OUTAGES), catalog=cat).plan
    capped = solve_scenario(
        scenario(**base, policies={**NO_OUTAGES, "max_share": 0.5}), catalog=cat
    ).plan
    # a + b = 10 instances and equal spend 2a = 3b  =>  a = 6 (aws), b = 4 (nebius):
    # 6 × 2 × 8760 = 105 120 USD = 4 × 3 × 8760. Total 210 240 USD.
    alloc = capped.tables["allocation"]
    assert total(alloc, "instances", provider="aws") == approx(6.0)
    assert total(alloc, "instances", provider="nebius") == approx(4.0)
    spend = capped.tables["spend"]
    assert total(spend, "usd", provider="aws") == approx(105_120.0)
    assert total(spend, "usd", provider="nebius") == approx(105_120.0)
    assert capped.max_provider_share == approx(0.5)
    # cost of the cap: 4 instances moved from 2 to 3 USD/h for 8760 h = 35 040 USD
    assert free.objective_usd == approx(175_200.0)
    assert capped.objective_usd == approx(210_240.0)
    assert capped.objective_usd - free.objective_usd == approx(35_040.0)
    # The share row of aws: 0.5·S_A − 0.5·S_B ≤ δ. With S_A = 17 520·a, S_B = 26 280·(10 − a):
    # a = 6 + 2δ/43 800, cost = 26 280·10 − 8760·a  =>  d cost / d δ = −8760·2/43 800 = −0.4.
    pol = capped.tables["policies"]
    share = rows_of(pol, policy="share", subject="aws")
    assert len(share) == 1
    assert share["marginal_usd"].iloc[0] == approx(0.4)


# ---------------------------------------------------------------------------------------------
# 4. N-1 over providers with inference resilience 1.0
# ---------------------------------------------------------------------------------------------


def _n_minus_one(tmp_path, demand: float = 1000):
    cat = two_offers(
        tmp_path, a={"reserved_1y_usd_per_hour": 1.0}, b={"reserved_1y_usd_per_hour": 1.5}
    )
    sc = scenario(
        horizon=horizon(1),
        terms=[1],
        offers={"ondemand_cap": 0},
        workloads=[inference("chat", demand, resilience=1.0)],
        policies={"outages": "providers"},
    )
    return solve_scenario(sc, catalog=cat)


def test_n_minus_one_each_provider_alone_carries_all_inference(tmp_path) -> None:
    plan = _n_minus_one(tmp_path).plan
    res = plan.tables["resilience"]
    assert set(res["scenario"]) == {"base", "aws down", "nebius down"}
    for down in ("aws down", "nebius down"):
        row = rows_of(res, scenario=down)
        assert row["required_fraction"].iloc[0] == approx(1.0)
        assert row["served_fraction"].iloc[0] == approx(1.0)
        assert bool(row["met"].iloc[0])
    # each provider alone must hold 1000 / 100 = 10 reserved instances (on demand capped at 0)
    cap = plan.tables["capacity"]
    assert total(cap, "reserved_instances", provider="aws") == approx(10.0)
    assert total(cap, "reserved_instances", provider="nebius") == approx(10.0)
    assert total(cap, "ondemand_instances") == 0.0
    # cost: 10 × 8760 × (1.0 + 1.5) = 219 000 USD (87 600 aws + 131 400 nebius)
    spend = plan.tables["spend"]
    assert total(spend, "usd", provider="aws", market="reserved") == approx(87_600.0)
    assert total(spend, "usd", provider="nebius", market="reserved") == approx(131_400.0)
    assert plan.objective_usd == approx(219_000.0)
    assert plan.tables["unserved"].empty
    # one more tok/s needs 0.01 more instance at BOTH providers: +0.01 × 2.5 × 8760 = 219 USD
    more = _n_minus_one(tmp_path, demand=1001).plan
    assert more.objective_usd - plan.objective_usd == approx(219.0)


def test_n_minus_one_base_allocation_serves_the_demand_not_more(tmp_path) -> None:
    # In the base scenario both pools (10 + 10 reserved instances) are up, but the demand is
    # 1000 tok/s = 10 instances: the allocation table should say 1000 tok/s are served.
    plan = _n_minus_one(tmp_path).plan
    alloc = plan.tables["allocation"]
    assert alloc["served"].sum() == approx(1000.0)


def test_n_minus_one_shadow_price_is_the_cost_of_one_more_token_per_s(tmp_path) -> None:
    # One more tok/s needs 1/100 more reserved instance at BOTH providers (each must carry it
    # alone): (1.0 + 1.5) USD/h / 100 tok/s = 0.025 USD per tok/s-hour (the re-solve in the test
    # above confirms: +219 USD for +1 tok/s over 8760 h). The base demand row has dual 0 (base
    # has 20 instances for 10 needed); the price sits on the two outage rows.
    solved = _n_minus_one(tmp_path)
    shadow = solved.plan.tables["shadow_prices"]
    assert shadow["usd_per_unit_hour"].iloc[0] == approx_dual(0.025)


# Default outage model: each provider down 1/year × 8 h, time share π = 8/8760; base weight
# 1 − 16/8760. Inference at resilience 0.5 on demand (A 2 USD/h, B 3 USD/h, 100 tok/s each):
#   base:        A serves D at 0.02 USD per tok/s-hour, weight 1 − 16/8760
#   aws down:    B serves 0.5·D at 0.03, weight 8/8760
#   nebius down: A serves 0.5·D at 0.02, weight 8/8760
# expected cost per tok/s over the year = 8760·0.02 − 16·0.02 + 8·0.5·(0.03 + 0.02)
#                                        = 175.2 − 0.32 + 0.2 = 175.08 USD.
DEFAULT_OUTAGE_COST = 175.08


def _default_outages(tmp_path, demand: float):
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        workloads=[inference("chat", demand, resilience=0.5)],
        policies={"outages": "providers"},
    )
    return solve_scenario(sc, catalog=two_offers(tmp_path)).plan


def test_default_outages_weight_on_demand_cost_by_scenario_probability(tmp_path) -> None:
    plan = _default_outages(tmp_path, 1000)
    # the spend table is the base plan: 10 × 2 × 8760 = 175 200 USD
    assert plan.tables["spend"]["usd"].sum() == approx(175_200.0)
    # the objective is the probability-weighted cost: 1000 × 175.08 = 175 080 USD
    assert plan.objective_usd == approx(1000 * DEFAULT_OUTAGE_COST)
    more = _default_outages(tmp_path, 1001)
    assert more.objective_usd - plan.objective_usd == approx(DEFAULT_OUTAGE_COST)


def test_default_outages_shadow_price_is_the_marginal_cost(tmp_path) -> None:
    # marginal cost of one more tok/s for one hour: 175.08 / 8760 = 0.0199863 USD (the base
    # dual alone is 0.02 × 8744/8760 = 0.0199635)
    plan = _default_outages(tmp_path, 1000)
    shadow = plan.tables["shadow_prices"]
    assert shadow["usd_per_unit_hour"].iloc[0] == approx(DEFAULT_OUTAGE_COST / H2027)


# ---------------------------------------------------------------------------------------------
# 5. single_site keeps a training run in one region (MILP)
# ---------------------------------------------------------------------------------------------


def _training_two_sites(tmp_path, single_site: bool):
    # aws:us-east-1 and nebius:eu-north1 both list 2 USD/h; a 50% contract discount makes aws
    # cheaper in 2027 (1 USD/h) and nebius cheaper in 2028 (1 USD/h).
    cat = tiny_catalog(
        tmp_path,
        [offer("aws", "us-east-1", "a1", 2.0), offer("nebius", "eu-north1", "b1", 2.0)],
    )
    sc = scenario(
        horizon=horizon(2),
        terms=[],
        contracts=[
            {
                "name": "aws-2027",
                "provider": "aws",
                "committed_usd": 0,
                "start": "2027-01-01",
                "end": "2028-01-01",
                "discount": 0.5,
            },
            {
                "name": "nebius-2028",
                "provider": "nebius",
                "committed_usd": 0,
                "start": "2028-01-01",
                "end": "2029-01-01",
                "discount": 0.5,
            },
        ],
        workloads=[
            {
                "name": "run",
                "kind": "training",
                # 10 instances through both years: 10 × (8760 + 8784) = 175 440 GPU-hours
                "compute_gpu_hours": 10 * (H2027 + H2028),
                "perf": {"H100": 1.0},
                "start": "2027-01-01",
                "deadline": "2029-01-01",
                "max_instances": 10,
                "single_site": single_site,
            }
        ],
        policies=NO_OUTAGES,
    )
    return solve_scenario(sc, catalog=cat).plan


def test_without_single_site_training_follows_the_cheaper_region(tmp_path) -> None:
    plan = _training_two_sites(tmp_path, single_site=False)
    alloc = plan.tables["allocation"]
    # aws in 2027, nebius in 2028, 10 instances each at 1 USD/h: 87 600 + 87 840 = 175 440 USD
    assert set(rows_of(alloc, period_index=0)["provider"]) == {"aws"}
    assert set(rows_of(alloc, period_index=1)["provider"]) == {"nebius"}
    assert plan.objective_usd == approx(10 * 1.0 * H2027 + 10 * 1.0 * H2028)


def test_single_site_forces_one_region(tmp_path) -> None:
    plan = _training_two_sites(tmp_path, single_site=True)
    assert plan.stats["integer"]  # the site choice is binary
    alloc = plan.tables["allocation"]
    assert alloc[["provider", "region"]].drop_duplicates().shape[0] == 1
    # aws only:    10 × 1 × 8760 + 10 × 2 × 8784 = 263 280 USD
    # nebius only: 10 × 2 × 8760 + 10 × 1 × 8784 = 263 040 USD  <- cheaper (2028 is a leap year)
    assert set(alloc["region"]) == {"eu-north1"}
    assert plan.objective_usd == approx(263_040.0)
    hours = {0: H2027, 1: H2028}
    done = sum(r.served * hours[r.period_index] for r in alloc.itertuples())
    assert done == approx(10 * (H2027 + H2028))


# ---------------------------------------------------------------------------------------------
# 6. a site power cap binds at the expected MW
# ---------------------------------------------------------------------------------------------


def test_site_power_cap_binds_and_the_rest_moves(tmp_path) -> None:
    # 10 kW IT per instance × PUE 1.5 = 15 kW = 0.015 MW facility per instance. A cap of 0.09 MW
    # at aws:us-east-1 allows 6 instances there; the other 4 go to nebius at 3 USD/h.
    cat = two_offers(tmp_path, a={"kw_per_instance": 10.0}, b={"kw_per_instance": 10.0})
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        providers={
            "aws": {"regions": {"us-east-1": {"power_mw": 0.09, "pue": 1.5}}},
            "nebius": {},
        },
        workloads=[inference("chat", 1000)],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    cap = plan.tables["capacity"]
    assert total(cap, "mw", provider="aws") == approx(0.09)
    assert total(cap, "ondemand_instances", provider="aws") == approx(6.0)
    assert total(cap, "ondemand_instances", provider="nebius") == approx(4.0)
    # 6 × 2 × 8760 + 4 × 3 × 8760 = 105 120 + 105 120 = 210 240 USD
    assert plan.objective_usd == approx(210_240.0)
    # One more MW at the site: 1 / 0.015 instances move from 3 to 2 USD/h for 8760 h:
    # (3 − 2) × 8760 / 0.015 = 584 000 USD per MW.
    pol = plan.tables["policies"]
    row = rows_of(pol, policy="power-site", subject="aws:us-east-1")
    assert len(row) == 1
    assert row["per"].iloc[0] == "MW"
    assert row["marginal_usd"].iloc[0] == approx(584_000.0)


# ---------------------------------------------------------------------------------------------
# 7. take-or-pay shortfall and contract discounts
# ---------------------------------------------------------------------------------------------


def _contract(provider: str, committed: float, discount: float = 0.0, **extra) -> dict:
    return {
        "name": f"{provider}-deal",
        "provider": provider,
        "committed_usd": committed,
        "start": "2027-01-01",
        "end": "2028-01-01",
        "discount": discount,
        **extra,
    }


def _contract_plan(tmp_path, *contracts: dict):
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        contracts=list(contracts),
        workloads=[inference("chat", 1000)],
        policies=NO_OUTAGES,
    )
    return solve_scenario(sc, catalog=two_offers(tmp_path)).plan


def test_take_or_pay_shortfall_is_paid(tmp_path) -> None:
    # The plan spends 10 × 2 × 8760 = 175 200 USD with aws; 200 000 are committed, so the
    # shortfall is 24 800 USD and the year costs exactly the commitment, 200 000 USD.
    plan = _contract_plan(tmp_path, _contract("aws", 200_000))
    spend = plan.tables["spend"]
    assert total(spend, "usd", provider="aws", market="ondemand") == approx(175_200.0)
    short = rows_of(spend, market="shortfall")
    assert list(short["provider"]) == ["aws"]
    assert short["usd"].sum() == approx(24_800.0)
    assert plan.objective_usd == approx(200_000.0)
    # one more committed USD is one more USD of shortfall
    row = rows_of(plan.tables["policies"], policy="take-or-pay")
    assert row["marginal_usd"].iloc[0] == approx(1.0)


def test_take_or_pay_pulls_spend_to_the_dearer_provider(tmp_path) -> None:
    # 100 000 USD committed with nebius (3 USD/h). Moving n instances from aws to nebius costs
    # 8760·n more but fills 26 280·n of the commitment, cheaper than a shortfall (1 USD per USD),
    # so n = 100 000 / 26 280 = 3.805175 and no shortfall is left.
    # Cost = 175 200 + 8760 · 100 000 / 26 280 = 175 200 + 33 333.33 = 208 533.33 USD.
    plan = _contract_plan(tmp_path, _contract("nebius", 100_000))
    spend = plan.tables["spend"]
    assert rows_of(spend, market="shortfall").empty
    assert total(spend, "usd", provider="nebius") == approx(100_000.0)
    assert total(plan.tables["allocation"], "instances", provider="nebius") == approx(
        100_000 / 26_280
    )
    assert plan.objective_usd == approx(175_200.0 + 100_000 / 3)
    # each committed USD costs 8760 / 26 280 = 1/3 USD
    row = rows_of(plan.tables["policies"], policy="take-or-pay")
    assert row["marginal_usd"].iloc[0] == approx(1 / 3)


def test_contract_discount_lowers_prices(tmp_path) -> None:
    # 40% off nebius: 3 × 0.6 = 1.8 USD/h < aws 2 USD/h, so nebius takes all 10 instances:
    # 10 × 1.8 × 8760 = 157 680 USD.
    plan = _contract_plan(tmp_path, _contract("nebius", 0, discount=0.4))
    markets = plan.tables["markets"]
    assert rows_of(markets, offer_id="nebius:eu-north1:b1")["ondemand_usd_per_hour"].iloc[
        0
    ] == approx(1.8)
    assert rows_of(markets, offer_id="aws:us-east-1:a1")["ondemand_usd_per_hour"].iloc[0] == approx(
        2.0
    )
    alloc = plan.tables["allocation"]
    assert set(alloc["provider"]) == {"nebius"}
    assert plan.tables["spend"]["usd"].sum() == approx(157_680.0)
    assert plan.objective_usd == approx(157_680.0)


def test_contract_discount_applies_pro_rata_to_a_partial_period(tmp_path) -> None:
    # 40% off aws for 2027-01-01..2027-07-01 (181 days = 4344 h of 8760): aws costs
    # 2 × (0.6 × 4344 + 4416) = 2 × 7022.4 = 14 044.8 USD per instance-year; 10 instances:
    # 140 448 USD (the period price is 2 × (1 − 0.4 × 4344/8760) = 1.603288 USD/h).
    plan = _contract_plan(tmp_path, _contract("aws", 0, discount=0.4, end="2027-07-01"))
    assert plan.objective_usd == approx(140_448.0)
    markets = plan.tables["markets"]
    price = rows_of(markets, offer_id="aws:us-east-1:a1")["ondemand_usd_per_hour"].iloc[0]
    assert price == approx(2.0 * (1 - 0.4 * 4344 / 8760))


# ---------------------------------------------------------------------------------------------
# 8. a training run gets exactly its compute, inside its window
# ---------------------------------------------------------------------------------------------


def test_training_uses_only_its_window_and_gets_its_compute(tmp_path) -> None:
    # Quarters of 2027: Q1 2160 h, Q2 2184 h, Q3 2208 h, Q4 2208 h. The window
    # [2027-02-15, 2027-11-15) holds only Q2 and Q3 whole, so only those may be used.
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 2.0)])
    sc = scenario(
        horizon=horizon(4, period="quarter"),
        terms=[],
        workloads=[
            {
                "name": "run",
                "kind": "training",
                "compute_gpu_hours": 100_000,
                "perf": {"H100": 1.0},
                "start": "2027-02-15",
                "deadline": "2027-11-15",
            }
        ],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    alloc = plan.tables["allocation"]
    assert set(alloc["period_index"]) <= {1, 2}
    hours = {0: 2160.0, 1: 2184.0, 2: 2208.0, 3: 2208.0}
    done = sum(r.served * hours[r.period_index] for r in alloc.itertuples())
    assert done == approx(100_000.0)
    # 100 000 GPU-hours at 2 USD per instance-hour (1 GPU, perf 1) = 200 000 USD
    assert plan.objective_usd == approx(200_000.0)
    assert plan.tables["unserved"].empty
    # one more GPU-hour of the run costs 2 USD
    shadow = rows_of(plan.tables["shadow_prices"], workload="run")
    assert shadow["usd_per_unit_hour"].iloc[0] == approx(2.0)


# ---------------------------------------------------------------------------------------------
# 9. impossible demand shows as unserved
# ---------------------------------------------------------------------------------------------


def test_impossible_demand_is_unserved(tmp_path) -> None:
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 2.0)])
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        offers={"ondemand_cap": 10},
        workloads=[inference("chat", 1500)],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    # 10 instances × 100 tok/s = 1000 served of 1500: 500 tok/s unserved
    assert total(plan.tables["allocation"], "served") == approx(1000.0)
    uns = plan.tables["unserved"]
    assert list(uns["scenario"]) == ["base"]
    assert uns["amount"].sum() == approx(500.0)
    # penalty = 10 × (2 USD/h / 100 tok/s) = 0.2 USD per tok/s-hour; objective =
    # 10 × 2 × 8760 + 500 × 0.2 × 8760 = 175 200 + 876 000 = 1 051 200 USD
    assert plan.objective_usd == approx(1_051_200.0)
    # the unserved unit sets the demand dual: 0.2 USD per tok/s-hour
    shadow = plan.tables["shadow_prices"]
    assert shadow["usd_per_unit_hour"].iloc[0] == approx(0.2)


def test_binding_ondemand_cap_is_priced_in_policies(tmp_path) -> None:
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 2.0)])
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        offers={"ondemand_cap": 10},
        workloads=[inference("chat", 1500)],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    # one more on-demand instance serves 100 tok/s that were unserved at 0.2 USD per tok/s-hour
    # and costs 2 USD/h: it saves (100 × 0.2 − 2) × 8760 = 157 680 USD
    pol = rows_of(plan.tables["policies"], policy="pool-market")
    assert len(pol) == 1
    assert pol["per"].iloc[0] == "instance"
    assert pol["marginal_usd"].iloc[0] == approx(157_680.0)


# ---------------------------------------------------------------------------------------------
# 10. the demand dual is the marginal cost of serving
# ---------------------------------------------------------------------------------------------


def test_demand_dual_is_on_demand_price_over_perf(tmp_path) -> None:
    cat = two_offers(tmp_path)
    sc = scenario(
        horizon=horizon(2, period="month"),
        terms=[],
        workloads=[inference("chat", [1000, 2000])],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    shadow = plan.tables["shadow_prices"]
    assert list(shadow["period"]) == ["2027-01", "2027-02"]
    # 2 USD/h / 100 tok/s = 0.02 USD per tok/s-hour; per million tokens 0.02 / 3600 × 1e6
    assert list(shadow["usd_per_unit_hour"]) == [approx(0.02), approx(0.02)]
    assert list(shadow["usd_per_million_tokens"]) == [approx(0.02 / 3600 * 1e6)] * 2
    # Jan 744 h, Feb 672 h: 10 × 2 × 744 + 20 × 2 × 672 = 14 880 + 26 880 = 41 760 USD
    assert plan.objective_usd == approx(41_760.0)


def test_demand_dual_is_reserved_price_over_perf_when_reserved_is_marginal(tmp_path) -> None:
    cat = two_offers(tmp_path, a={"reserved_1y_usd_per_hour": 1.5})
    sc = scenario(
        horizon=horizon(1),
        terms=[1],
        workloads=[inference("chat", 1000)],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    # 1y reserved at 1.5 USD/h is the cheapest way: 1.5 / 100 = 0.015 USD per tok/s-hour
    shadow = plan.tables["shadow_prices"]
    assert shadow["usd_per_unit_hour"].iloc[0] == approx_dual(0.015)
    assert plan.objective_usd == approx(10 * 1.5 * H2027)


# ---------------------------------------------------------------------------------------------
# 11. the entry price of an unused offer
# ---------------------------------------------------------------------------------------------


def _entry_plan(tmp_path, b_reserved: float):
    # A: aws, 1 H100, 1y reserved 1.5 USD/h -> 1.5 / 100 = 0.015 USD per tok/s-hour.
    # B: nebius, 2 H100 per instance (200 tok/s), 1y reserved b_reserved.
    cat = tiny_catalog(
        tmp_path,
        [
            offer("aws", "us-east-1", "a1", 2.0, reserved_1y_usd_per_hour=1.5),
            offer(
                "nebius",
                "eu-north1",
                "b2",
                6.0,
                accelerators_per_instance=2,
                reserved_1y_usd_per_hour=b_reserved,
            ),
        ],
    )
    sc = scenario(
        horizon=horizon(1), terms=[1], workloads=[inference("chat", 1000)], policies=NO_OUTAGES
    )
    return solve_scenario(sc, catalog=cat).plan


def test_entry_price_of_an_unused_reservation(tmp_path) -> None:
    plan = _entry_plan(tmp_path, 3.6)
    com = plan.tables["commitments"]
    assert set(com["provider"]) == {"aws"}
    # B at 3.6 / 200 = 0.018 USD per tok/s-hour loses to A's 0.015; it enters at
    # 0.015 × 200 = 3.0 USD/h, a cut of 0.6 / 3.6 = 1/6.
    entry = rows_of(plan.tables["entry_prices"], instance_type="b2", term_years=1)
    assert len(entry) == 1
    assert entry["usd_per_hour"].iloc[0] == approx(3.6)
    assert entry["entry_usd_per_hour"].iloc[0] == approx_dual(3.0)
    assert entry["cut_fraction"].iloc[0] == pytest.approx(1 / 6, abs=2e-5)  # 1 − price ratio
    assert plan.objective_usd == approx(10 * 1.5 * H2027)


def test_offer_enters_just_below_its_entry_price(tmp_path) -> None:
    # B at 2.99 USD/h < 3.0: 5 instances of B (2 GPUs, 200 tok/s each) take the demand,
    # 5 × 2.99 × 8760 = 130 962 USD.
    plan = _entry_plan(tmp_path, 2.99)
    com = plan.tables["commitments"]
    assert set(com["provider"]) == {"nebius"}
    assert com["instances"].sum() == approx(5.0)
    assert plan.objective_usd == approx(5 * 2.99 * H2027)


# ---------------------------------------------------------------------------------------------
# 12. existing reservations
# ---------------------------------------------------------------------------------------------


def test_existing_reservations_count_as_capacity_and_cost(tmp_path) -> None:
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 2.0)])
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        reservations=[
            {
                "provider": "aws",
                "region": "us-east-1",
                "instance_type": "a1",
                "instances": 4,
                "start": "2027-01-01",
                "end": "2028-01-01",
                "usd_per_hour": 1.2,
            }
        ],
        workloads=[inference("chat", 1000)],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    cap = plan.tables["capacity"]
    assert total(cap, "reserved_instances") == approx(4.0)
    assert total(cap, "ondemand_instances") == approx(6.0)
    alloc = plan.tables["allocation"]
    assert total(alloc, "instances", market="reserved") == approx(4.0)
    spend = plan.tables["spend"]
    # existing: 4 × 1.2 × 8760 = 42 048 USD; on demand: 6 × 2 × 8760 = 105 120 USD
    assert total(spend, "usd", market="existing") == approx(42_048.0)
    assert total(spend, "usd", market="ondemand") == approx(105_120.0)
    assert plan.objective_usd == approx(147_168.0)
    assert plan.tables["commitments"].empty


def _reservation_without_price(tmp_path, terms: list[int], end_effects: str = "full"):
    cat = tiny_catalog(
        tmp_path,
        [
            offer(
                "aws",
                "us-east-1",
                "a1",
                2.0,
                reserved_1y_usd_per_hour=1.2,
                reserved_3y_usd_per_hour=0.9,
            )
        ],
    )
    sc = scenario(
        horizon={**horizon(1), "end_effects": end_effects},
        terms=terms,
        reservations=[
            {
                "provider": "aws",
                "region": "us-east-1",
                "instance_type": "a1",
                "instances": 4,
                "start": "2027-01-01",
                "end": "2028-01-01",
            }
        ],
        workloads=[inference("chat", 1000)],
        policies=NO_OUTAGES,
    )
    return solve_scenario(sc, catalog=cat).plan


def test_existing_reservation_defaults_to_the_1y_price(tmp_path) -> None:
    # usd_per_hour omitted: "default: catalog 1y reserved price" = 1.2 USD/h:
    # 4 × 1.2 × 8760 = 42 048 USD. The other 6 instances: a 3y term at 0.9 USD/h signed in the
    # only (last) period is charged for the periods inside the horizon only (formulation,
    # Choice 3): 6 × 0.9 × 8760 = 47 304 USD in the horizon, 6 × 0.9 × 26 280 = 141 912 whole.
    # That is end_effects: prorate, set here explicitly (the default, full, is the next test).
    plan = _reservation_without_price(tmp_path, [1, 3], "prorate")
    spend = plan.tables["spend"]
    assert total(spend, "usd", market="existing") == approx(42_048.0)
    assert total(spend, "usd", market="reserved") == approx(47_304.0)
    com = plan.tables["commitments"]
    assert list(com["term_years"]) == [3]
    assert com["contract_value_usd"].iloc[0] == approx(141_912.0)
    assert plan.objective_usd == approx(42_048.0 + 47_304.0)


def test_existing_reservation_and_whole_terms_under_full(tmp_path) -> None:
    # end_effects full (the default): the 3y term costs 0.9 × 26 280 = 23 652 USD per instance,
    # the 1y term 1.2 × 8760 = 10 512: the other 6 instances take the 1y term, 63 072 USD.
    plan = _reservation_without_price(tmp_path, [1, 3])
    com = plan.tables["commitments"]
    assert list(com["term_years"]) == [1]
    assert com["instances"].iloc[0] == approx(6.0)
    assert plan.objective_usd == approx(42_048.0 + 63_072.0)


def test_existing_reservation_defaults_to_the_1y_price_when_only_3y_terms(tmp_path) -> None:
    # Same reservation with terms: [3]: its price is still the catalog 1y price (1.2 USD/h):
    # 4 × 1.2 × 8760 = 42 048 USD.
    plan = _reservation_without_price(tmp_path, [3])
    assert total(plan.tables["spend"], "usd", market="existing") == approx(42_048.0)


def test_existing_reservation_without_terms_does_not_crash(tmp_path) -> None:
    # No new terms may be signed, but the reservation already exists: 4 × 1.2 × 8760 = 42 048.
    plan = _reservation_without_price(tmp_path, [])
    assert total(plan.tables["spend"], "usd", market="existing") == approx(42_048.0)
    # the other 6 instances on demand: 6 × 2 × 8760 = 105 120 USD
    assert total(plan.tables["spend"], "usd", market="ondemand") == approx(105_120.0)


# ---------------------------------------------------------------------------------------------
# 13. a budget below the cheapest plan
# ---------------------------------------------------------------------------------------------


def test_budget_below_cheapest_plan_binds_and_leaves_demand_unserved(tmp_path) -> None:
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 2.0)])
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        workloads=[inference("chat", 1000)],
        policies={**NO_OUTAGES, "budget_usd_per_year": 100_000},
    )
    plan = solve_scenario(sc, catalog=cat).plan
    # cheapest full plan: 175 200 USD. With 100 000 USD: 100 000 / (2 × 8760) = 5.707763
    # instances, 570.7763 tok/s served, 429.2237 unserved.
    spend = plan.tables["spend"]
    assert spend["usd"].sum() == approx(100_000.0)
    served = 100_000 / (2 * H2027) * 100
    assert total(plan.tables["allocation"], "served") == approx(served)
    assert plan.tables["unserved"]["amount"].sum() == approx(1000 - served)
    # objective: 100 000 + penalty 0.2 × 8760 × 429.2237 = 100 000 + 752 000 = 852 000 USD
    assert plan.objective_usd == approx(852_000.0)
    # one more USD of budget serves 100 / 17 520 tok/s for the year, saving
    # 0.2 × 8760 × 100 / 17 520 = 10 USD of penalty for 1 USD: marginal 9
    row = rows_of(plan.tables["policies"], policy="budget")
    assert list(row["subject"]) == ["spend"]
    assert row["marginal_usd"].iloc[0] == approx(9.0)
