"""Build, rent or buy managed: owned sites and managed platforms, with hand-derived plans.

Conventions (as in ``test_plan.py``; see ``plan_helpers``): offers are 1-GPU H100 instances,
inference perf is ``{H100: 100}`` tokens/s per device, horizons are undiscounted unless said
otherwise (2027 = 8760 h, 2028 = 8784 h, 2029 = 8760 h, 2030 = 8760 h), ``outages: none`` unless
the test is about outages, ``terms: []`` unless reservations are the subject.

An owned server costs, per hour of the horizon (docs/routes.md),
``c = (F·CRF(r, Lf) + H·CRF(r, Lh) + om·(F + H)) / 8760 + kW·PUE/1000·USD/MWh`` with
``F = facility USD/MW × kW / 1000`` and ``H = USD per accelerator × GPUs``; ``CRF(0, n) = 1/n``.
A managed platform's instance is one output token/s at ``3600/1e6 × (out + ratio × in)`` USD/h.
"""

from __future__ import annotations

import numpy as np
import pytest

from hyperplan.catalog.managed import find_managed_price, managed_prices
from hyperplan.catalog.owned import hardware_usd_per_accelerator, owned_costs, owned_defaults
from hyperplan.errors import InputError
from hyperplan.plan import solve_scenario
from hyperplan.plan.compare import compare, strategy_scenario
from hyperplan.plan.routes import MANAGED, OWNED
from hyperplan.scenario.check import check_scenario
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

H2027, H2028, H2029, H2030 = 8760.0, 8784.0, 8760.0, 8760.0
NO_OUTAGES = {"outages": "none"}


def approx(value: float, rel: float = 1e-6) -> object:
    return pytest.approx(value, rel=rel, abs=1e-9)


# A site whose every figure is given (no catalog default), 1 GPU per server, 1 kW, PUE 1:
# F = 876 000 USD/MW × 1 kW / 1000 = 876 USD, H = 43 800 USD,
# electricity = 1 kW × 1.0 / 1000 × 100 USD/MWh = 0.1 USD/h.
SITE = OWNED_SITE
OWNED_ID = "owned:dc1:us-tx:H100x1"


def site(**changes: object) -> dict:
    return {**SITE, **changes}


def crf(r: float, n: float) -> float:
    """Capital recovery factor, written out here rather than imported."""
    return 1.0 / n if r == 0 else r * (1 + r) ** n / ((1 + r) ** n - 1)


def server_usd_per_hour(s: dict, r: float) -> float:
    facility = s["facility_usd_per_mw"] * s["kw_per_server"] / 1000.0
    hardware = s["hardware_usd_per_accelerator"] * s["gpus_per_server"]
    fixed = (
        facility * crf(r, s["facility_lifetime_years"])
        + hardware * crf(r, s["hardware_lifetime_years"])
        + s["fixed_om_share_per_year"] * (facility + hardware)
    )
    power = s["kw_per_server"] * s["pue"] / 1000.0 * s["electricity_usd_per_mwh"]
    return fixed / 8760.0 + power


# ---------------------------------------------------------------------------------------------
# 1. the annualised cost is the capital recovery formula
# ---------------------------------------------------------------------------------------------


def test_owned_price_is_the_capital_recovery_formula(tmp_path) -> None:
    # r = 8%: CRF(0.08, 10) = 0.149029, CRF(0.08, 3) = 0.388034.
    # fixed = 876 × 0.149029 + 43 800 × 0.388034 + 0.01 × 44 676 = 17 573.18 USD per
    # server-year, c = 17 573.18 / 8760 + 0.1 = 2.106071 USD per server-hour.
    assert crf(0.08, 10) == approx(0.149029, rel=1e-5)
    assert crf(0.08, 3) == approx(0.388034, rel=1e-5)
    c = server_usd_per_hour(SITE, 0.08)
    assert c == approx(2.106071, rel=1e-6)
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 50.0)])
    sc = scenario(
        horizon={**horizon(3), "discount_rate": 0.08},
        terms=[],
        workloads=[inference("chat", 1000)],
        owned_sites=[SITE],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    com = plan.tables["commitments"]
    assert list(com["commitment"]) == ["build"]
    assert com["usd_per_hour"].iloc[0] == approx(c)
    be = rows_of(plan.tables["break_even"], route="owned")
    assert be["usd_per_hour"].iloc[0] == approx(c)
    assert be["fixed_usd_per_server_year"].iloc[0] == approx(
        876 * crf(0.08, 10) + 43_800 * crf(0.08, 3) + 0.01 * 44_676
    )
    assert be["capex_usd_per_server"].iloc[0] == approx(44_676.0)
    # 10 servers (1000 tok/s / 100), capex 446 760 USD, facility in the decision's year
    builds = plan.tables["owned_builds"]
    assert builds["servers"].sum() == approx(10.0)
    capex = plan.tables["owned_capex"]
    assert capex["capex_usd"].sum() == approx(446_760.0)
    assert total(capex, "facility_usd", year=2027) == approx(8_760.0)


def test_defaults_come_from_the_sourced_csv(tmp_path) -> None:
    # fields left out take owned_capacity_costs.csv rows: 11.7 M USD per IT MW (C&W US average),
    # 8.92 US cents/kWh (Virginia) = 89.2 USD/MWh, PUE 1.58 (Uptime), 5-year server life
    # (Amazon), 31 904.63 USD per H100; kW from the catalog rule 8 × (0.7 + 0.575) = 10.2 kW.
    d = owned_defaults()
    assert d["facility_usd_per_mw"].value == 11.7e6
    assert d["electricity_usd_per_mwh"].value == approx(89.2)
    assert d["pue"].value == 1.58
    assert d["hardware_lifetime_years"].value == 5.0
    assert "Cushman" in d["facility_usd_per_mw"].source
    assert hardware_usd_per_accelerator("H100").value == approx(31_904.63)
    assert hardware_usd_per_accelerator("GB200").value == approx(2e6 / 72)
    assert hardware_usd_per_accelerator("L4") is None  # no row: left empty, never invented
    raw = owned_costs()
    assert raw["value"].notna().all() and len(raw) == 30
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 500.0)])
    minimal = {
        "name": "dc2",
        "accelerator": "H100",
        "lead_time_periods": 0,
        "facility_lifetime_years": 20,
        "fixed_om_share_per_year": 0.0,
    }
    sc = scenario(
        horizon={**horizon(1), "discount_rate": 0.08},
        terms=[],
        workloads=[inference("chat", 800)],
        owned_sites=[minimal],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    be = plan.tables["break_even"].iloc[0]
    facility = 11.7e6 * 10.2 / 1000
    hardware = 31_904.63 * 8
    expect = (facility * crf(0.08, 20) + hardware * crf(0.08, 5)) / 8760 + 10.2 * 1.58 * 0.0892
    assert be["usd_per_hour"] == approx(expect)
    assert "Cushman" in be["basis"] and "Amazon" in be["basis"]


# ---------------------------------------------------------------------------------------------
# 2. an owned server beats renting exactly above the break-even utilisation
# ---------------------------------------------------------------------------------------------

# Undiscounted (CRF = 1/n): C = 876/10 + 43 800/3 = 14 687.6 USD per server-year of capex,
# O&M 446.76 USD/yr, electricity 0.1 USD/h, so c = 15 134.36 / 8760 + 0.1 = 1.827667 USD/h.
# Horizon 2027-2029 = 26 304 h; a server built in 2027 (life 3 years) serves all of it.
# Demand 1000 tok/s in 2027 only: utilisation u = 8760 / 26 304 = 0.333029. Ten servers cost
# 10 c × 26 304, renting costs 10 p × 8760: owning wins iff c × 26 304 < p × 8760, i.e. iff
# u > c / p: the break-even price is p* = c / u = 5.488007 USD/h.
C_UNDISC = (876 / 10 + 43_800 / 3 + 446.76) / 8760 + 0.1
U = H2027 / (H2027 + H2028 + H2029)


def _own_or_rent(tmp_path, p: float):
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", p)])
    sc = scenario(
        # the hand derivation charges the capex annuity per period served (end_effects prorate);
        # under full the whole facility capex would be charged to a 3-year hardware life
        horizon={**horizon(3), "end_effects": "prorate"},
        terms=[],
        workloads=[inference("chat", [1000, 0, 0])],
        owned_sites=[SITE],
        policies=NO_OUTAGES,
    )
    return solve_scenario(sc, catalog=cat).plan


def test_owned_break_even_is_hand_value() -> None:
    assert server_usd_per_hour(SITE, 0.0) == approx(C_UNDISC)
    assert approx(1.827667, rel=1e-6) == C_UNDISC
    assert approx(5.488007, rel=1e-6) == C_UNDISC / U


def test_owning_wins_just_above_break_even_utilisation(tmp_path) -> None:
    p = 5.55  # c / p = 0.329309 < u = 0.333029
    assert C_UNDISC / p < U
    plan = _own_or_rent(tmp_path, p)
    com = plan.tables["commitments"]
    assert list(com["commitment"]) == ["build"] and com["start_index"].iloc[0] == 0
    assert com["instances"].iloc[0] == approx(10.0)
    assert plan.objective_usd == approx(10 * C_UNDISC * 26_304)  # 480 748.6 < 486 180 renting
    assert total(plan.tables["allocation"], "instances", market="ondemand") == 0.0
    be = rows_of(plan.tables["break_even"], route="owned").iloc[0]
    assert be["break_even_utilisation"] == approx(C_UNDISC / p)
    assert be["alternative_offer_id"] == "aws:us-east-1:a1"
    assert be["utilisation"] == approx(U)  # the plan's own use of what it built
    assert be["rent_wins_below_usd_per_gpu_hour"] == approx(C_UNDISC / U)
    # routes: 2027 all owned; 2028-2029 the servers stand idle (and are paid for)
    routes = plan.tables["routes"]
    chat = rows_of(routes, workload="chat")
    assert list(chat["route"]) == ["owned"] and chat["share"].iloc[0] == approx(1.0)
    assert chat["usd_per_gpu_hour"].iloc[0] == approx(C_UNDISC)
    assert chat["usd_per_million_tokens"].iloc[0] == approx(C_UNDISC / (3600 * 100 / 1e6))
    idle = rows_of(routes, workload="(idle)")
    assert list(idle["period_index"]) == [1, 2]
    assert routes["usd"].sum() == approx(plan.total_usd)


def test_renting_wins_just_below_break_even_utilisation(tmp_path) -> None:
    p = 5.45  # c / p = 0.335352 > u = 0.333029
    assert C_UNDISC / p > U
    plan = _own_or_rent(tmp_path, p)
    assert plan.tables["commitments"].empty
    assert plan.objective_usd == approx(10 * p * H2027)  # 477 420 < 480 748.6 owning
    assert set(plan.tables["routes"]["route"]) == {"rented"}
    be = rows_of(plan.tables["break_even"], route="owned").iloc[0]
    assert be["break_even_utilisation"] == approx(C_UNDISC / p)
    assert be["built_servers"] == 0.0
    # the planner's entry price of the unbuilt site is the break-even price p × u per
    # server-hour, and the hardware price that reaches it solves c(H) = p × u:
    # (876/10 + 1 × H/3 + 0.01 × (876 + H)) / 8760 + 0.1 = p × u
    entry = p * U
    assert be["entry_usd_per_hour"] == approx(entry)
    hardware = ((entry - 0.1) * 8760 - 87.6 - 8.76) / (1 / 3 + 0.01)
    assert be["entry_hardware_usd_per_accelerator"] == approx(hardware)
    assert hardware < 43_800


# ---------------------------------------------------------------------------------------------
# 3. a build decided in period t serves nothing before t + lead time
# ---------------------------------------------------------------------------------------------


def test_build_serves_nothing_before_its_lead_time(tmp_path) -> None:
    # Lead 2 years; the grid connection can only be contracted in 2028 (mw_per_period
    # [0, 1, 0, 0]: 1 MW = 1000 servers of 1 kW at PUE 1), so the build decided in 2028 powers
    # up in 2030. Renting (10 USD/h) serves 2027-2029; owning (c = 1.827667 USD/h, life 3 y:
    # covers 2030 only inside the horizon) serves 2030.
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 10.0)])
    sc = scenario(
        horizon={**horizon(4), "end_effects": "prorate"},  # the annuity of 2030 only (see below)
        terms=[],
        workloads=[inference("chat", 1000)],
        owned_sites=[site(lead_time_periods=2, mw_per_period=[0, 1, 0, 0])],
        policies=NO_OUTAGES,
    )
    solved = solve_scenario(sc, catalog=cat)
    plan = solved.plan
    builds = plan.tables["owned_builds"]
    assert list(builds["decision_index"]) == [1]
    assert list(builds["first_power_index"]) == [3]
    assert builds["servers"].iloc[0] == approx(10.0)
    cap = rows_of(plan.tables["capacity"], provider="owned:dc1")
    assert list(cap["period_index"]) == [3]
    alloc = plan.tables["allocation"]
    assert set(rows_of(alloc, provider="owned:dc1")["period_index"]) == {3}
    assert set(rows_of(alloc, provider="aws")["period_index"]) == {0, 1, 2}
    com = plan.tables["commitments"].iloc[0]
    assert (com["start_index"], com["first_period_index"], com["periods_covered"]) == (1, 3, 1)
    # spend: rent 10 × 10 × (8760 + 8784 + 8760) + own 10 × c × 8760 (2030 only)
    assert plan.objective_usd == approx(10 * 10 * 26_304 + 10 * C_UNDISC * H2030)
    # no build column can start where its first power would fall after the horizon
    fam = solved.model.lm.cols["reserve"]
    owned = solved.inputs.route[fam.index["offer"]] == OWNED
    assert set(fam.index["start"][owned]) == {1}  # the only period with grid to connect
    assert (fam.index["start"][owned] + 2 < 4).all()


def test_without_rent_the_lead_time_leaves_demand_unserved(tmp_path) -> None:
    # the same site with no rented offer that can serve (H100 only): 2027-2029 are unserved
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 10.0, accelerator="L4")])
    sc = scenario(
        horizon=horizon(4),
        terms=[],
        workloads=[inference("chat", 1000, accelerators=["H100"])],
        owned_sites=[site(lead_time_periods=3)],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    uns = plan.tables["unserved"]
    assert list(uns["period"]) == ["2027", "2028", "2029"]
    assert list(plan.tables["owned_builds"]["first_power"]) == ["2030"]


# ---------------------------------------------------------------------------------------------
# 4. managed tokens beat GPUs exactly when p / (3600 × tps / 1e6) > k
# ---------------------------------------------------------------------------------------------

# GPU: p = 2 USD/h per instance serving tps = 100 tokens/s: 2 / 0.36 = 5.5556 USD per million
# tokens. Managed: input 1 USD/M, output b USD/M, workload ratio 2 input tokens per output token:
# k = b + 2 × 1 per million output tokens.


def _managed_or_gpu(tmp_path, output_price: float):
    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 2.0)])
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        workloads=[inference("chat", 1000, input_tokens_per_output=2.0)],
        managed_platforms=[
            {
                "name": "bedrock",
                "provider": "aws",
                "region": "us-east-1",
                "input_usd_per_million_tokens": 1.0,
                "output_usd_per_million_tokens": output_price,
            }
        ],
        policies=NO_OUTAGES,
    )
    return solve_scenario(sc, catalog=cat)


def test_managed_wins_when_cheaper_per_token(tmp_path) -> None:
    k = 3.5 + 2 * 1.0  # 5.5 < 5.5556
    assert k < 2.0 / (3600 * 100 / 1e6)
    plan = _managed_or_gpu(tmp_path, 3.5).plan
    alloc = plan.tables["allocation"]
    assert set(alloc["provider"]) == {"aws"}
    assert total(alloc, "served") == approx(1000.0)
    # 1000 tokens/s × 3600 s × 8760 h / 1e6 = 31 536 million tokens × 5.5 USD = 173 448 USD
    assert plan.objective_usd == approx(31_536 * 5.5)
    be = rows_of(plan.tables["break_even"], route="managed").iloc[0]
    assert be["usd_per_million_tokens"] == approx(5.5)
    assert be["alternative_usd_per_million_tokens"] == approx(2.0 / 0.36)
    assert be["break_even_usd_per_hour"] == approx(5.5 * 0.36)  # GPU price above which it wins
    assert be["served_share"] == approx(1.0)
    routes = plan.tables["routes"]
    assert list(routes["route"]) == ["managed"]
    assert routes["usd_per_million_tokens"].iloc[0] == approx(5.5)


def test_gpus_win_when_managed_is_dearer_per_token(tmp_path) -> None:
    k = 3.6 + 2 * 1.0  # 5.6 > 5.5556
    assert k > 2.0 / (3600 * 100 / 1e6)
    solved = _managed_or_gpu(tmp_path, 3.6)
    plan = solved.plan
    alloc = plan.tables["allocation"]
    assert set(alloc["provider"]) == {"nebius"}
    assert plan.objective_usd == approx(10 * 2.0 * H2027)  # 175 200 < 31 536 × 5.6
    be = rows_of(plan.tables["break_even"], route="managed").iloc[0]
    assert be["served_share"] == 0.0
    # the plan's marginal token costs the GPU price, below the platform's 5.6
    assert be["marginal_usd_per_million_tokens"] == approx(2.0 / 0.36)
    # one instance of the platform is one output token/s at 3600/1e6 × 5.6 USD/h
    inp = solved.inputs
    o = int(np.flatnonzero(inp.route == MANAGED)[0])
    assert inp.price[o, 1, 0] == approx(0.0036 * 5.6)
    assert inp.gpus[o] == 0 and inp.kw[o] == 0


def test_prices_come_from_the_catalog_row_of_the_model(tmp_path) -> None:
    row = find_managed_price("Llama 3.3 70B Instruct", provider="aws")
    assert (row.platform, row.input_usd_per_million_tokens) == ("Amazon Bedrock", 0.72)
    prov = managed_prices()
    assert prov[prov["mode"] == "provisioned"]["input_usd_per_million_tokens"].isna().all()
    with pytest.raises(KeyError, match="Did you mean"):
        find_managed_price("Llama 3.3 70B Instrukt", provider="aws")
    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 2.0)])
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        workloads=[inference("chat", 1000, model="Llama 3.3 70B Instruct")],
        managed_platforms=[{"name": "b", "provider": "aws", "model": "Llama 3.3 70B Instruct"}],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    # ratio 1 (default): 0.72 + 0.72 = 1.44 USD per million output tokens
    be = rows_of(plan.tables["break_even"], route="managed").iloc[0]
    assert be["usd_per_million_tokens"] == approx(1.44)
    assert "Amazon Bedrock" in be["basis"]


def test_platform_serves_only_its_model_and_allowed_routes(tmp_path) -> None:
    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 2.0)])
    platform = {"name": "b", "provider": "aws", "model": "Llama 3.3 70B Instruct"}
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        workloads=[
            inference("same", 100, model="llama 3.3 70b instruct"),
            inference("other", 100, model="Claude Sonnet 4.5"),
            inference("no-model", 100),
            inference("gpu-only", 100, routes=["rented"]),
        ],
        managed_platforms=[platform],
        policies=NO_OUTAGES,
    )
    solved = solve_scenario(sc, catalog=cat)
    inp = solved.inputs
    o = int(np.flatnonzero(inp.route == MANAGED)[0])
    assert list(inp.perf[:, o]) == [1.0, 0.0, 1.0, 0.0]


# ---------------------------------------------------------------------------------------------
# 5. share caps count managed spend with its provider
# ---------------------------------------------------------------------------------------------


def test_share_cap_counts_managed_spend_with_its_provider(tmp_path) -> None:
    # Managed on aws: output 2.5 USD/M, no input price: 0.0036 × 2.5 = 0.009 USD per token/s-hour.
    # nebius GPU: 2 USD/h for 100 tokens/s = 0.02 per token/s-hour. Uncapped, aws takes all.
    # max_share 0.5 of spend: 0.009 m = 0.02 (1000 − m)  =>  m = 20 / 0.029 = 689.655 tokens/s
    # on the platform, n = 3.10345 nebius instances; each side spends 6.2069 USD/h.
    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 2.0)])
    base = {
        "horizon": horizon(1),
        "terms": [],
        "workloads": [inference("chat", 1000)],
        "managed_platforms": [
            {
                "name": "bedrock",
                "provider": "aws",
                "input_usd_per_million_tokens": 0.0,
                "output_usd_per_million_tokens": 2.5,
            }
        ],
    }
    free = solve_scenario(scenario(**base, policies=NO_OUTAGES), catalog=cat).plan
    assert set(free.tables["spend"]["provider"]) == {"aws"}
    capped = solve_scenario(
        scenario(**base, policies={**NO_OUTAGES, "max_share": 0.5}), catalog=cat
    ).plan
    m = 20 / 0.029
    alloc = capped.tables["allocation"]
    assert total(alloc, "served", provider="aws") == approx(m)
    assert total(alloc, "instances", provider="nebius") == approx((1000 - m) / 100)
    spend = capped.tables["spend"]
    assert total(spend, "usd", provider="aws") == approx(0.009 * m * H2027)
    assert total(spend, "usd", provider="nebius") == approx(0.009 * m * H2027)
    assert capped.max_provider_share == approx(0.5)
    share = rows_of(capped.tables["routes"], workload="chat", route="managed")
    assert share["share"].iloc[0] == approx(m / 1000)


def test_owned_site_takes_a_per_provider_cap(tmp_path) -> None:
    # the dict form caps the owned site like any provider: owned:dc1 at most 25% of spend.
    # Owned (c = 1.827667 USD/h) vs aws at 10 USD/h: c·x = 0.25 (c·x + 10·(10 − x)) per hour
    # => x (0.75 c + 2.5) = 25 => x = 25 / (0.75 c + 2.5).
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 10.0)])
    sc = scenario(
        horizon=horizon(3),
        terms=[],
        workloads=[inference("chat", 1000)],
        owned_sites=[SITE],
        policies={**NO_OUTAGES, "max_share": {"owned:dc1": 0.25}},
    )
    assert check_scenario(sc, cat) == []
    plan = solve_scenario(sc, catalog=cat).plan
    x = 25 / (0.75 * C_UNDISC + 2.5)
    assert plan.tables["owned_builds"]["servers"].sum() == approx(x)
    assert plan.provider_share()["owned:dc1"].max() == approx(0.25)


# ---------------------------------------------------------------------------------------------
# 6. an outage of the managed platform's provider takes its throughput away
# ---------------------------------------------------------------------------------------------


def test_provider_outage_takes_managed_throughput_away(tmp_path) -> None:
    # Managed on aws (0.009 USD per token/s-hour) and nebius reserved only (1y at 1 USD/h per
    # 100 tokens/s, no on-demand). Resilience 0.5: with aws down the platform is gone, so nebius
    # must hold 500 tokens/s = 5 reserved instances. In the base plan those 5 serve 500 (paid
    # anyway) and the platform serves the other 500.
    cat = tiny_catalog(
        tmp_path, [offer("nebius", "eu-north1", "b1", 3.0, reserved_1y_usd_per_hour=1.0)]
    )
    sc = scenario(
        horizon=horizon(1),
        terms=[1],
        offers={"ondemand_cap": 0},
        workloads=[inference("chat", 1000, resilience=0.5)],
        managed_platforms=[
            {
                "name": "bedrock",
                "provider": "aws",
                "region": "us-east-1",
                "input_usd_per_million_tokens": 0.0,
                "output_usd_per_million_tokens": 2.5,
            }
        ],
        policies={"outages": "providers"},
    )
    solved = solve_scenario(sc, catalog=cat)
    plan = solved.plan
    assert solved.inputs.scenario_names == ["base", "aws down", "nebius down"]
    com = plan.tables["commitments"]
    assert list(com["provider"]) == ["nebius"] and com["instances"].iloc[0] == approx(5.0)
    res = plan.tables["resilience"].set_index("scenario")
    assert res.loc["aws down", "served_fraction"] == approx(0.5)
    assert res.loc["nebius down", "served_fraction"] == approx(0.5)
    alloc = plan.tables["allocation"]
    assert total(alloc, "served", provider="aws") == approx(500.0)
    assert total(alloc, "served", provider="nebius") == approx(500.0)
    # the platform has no column at all in the scenario where aws is down
    fam = solved.model.lm.cols["allocate"]
    managed = solved.inputs.route[fam.index["offer"]] == MANAGED
    assert set(fam.index["scenario"][managed]) == {0, 2}
    # base spend: 5 × 1 × 8760 reserved + 500 × 0.009 × 8760 managed = 43 800 + 39 420
    assert plan.total_usd == approx(43_800 + 39_420)


def test_owned_site_is_its_own_failure_domain(tmp_path) -> None:
    # N-1 with resilience 1: the owned site's outage must be covered by renting reserved capacity
    cat = tiny_catalog(
        tmp_path, [offer("aws", "us-east-1", "a1", 10.0, reserved_1y_usd_per_hour=4.0)]
    )
    sc = scenario(
        horizon=horizon(1),
        terms=[1],
        offers={"ondemand_cap": 0},
        workloads=[inference("chat", 1000, resilience=1.0)],
        owned_sites=[site(hardware_lifetime_years=1, outage={"rate_per_year": 2, "mean_hours": 6})],
        policies={"outages": "providers"},
    )
    solved = solve_scenario(sc, catalog=cat)
    assert solved.inputs.scenario_names == ["base", "aws down", "owned:dc1 down"]
    # the site's own outage model weighs its scenario: 2 × 6 / 8760
    assert solved.inputs.weight[2] == approx(12 / 8760)
    plan = solved.plan
    assert plan.tables["owned_builds"]["servers"].sum() == approx(10.0)
    assert total(plan.tables["commitments"], "instances", provider="aws") == approx(10.0)
    assert plan.meta["outages"]["providers"]["owned:dc1"]["rate_per_year"] == 2


# ---------------------------------------------------------------------------------------------
# 7. provisioned throughput, strategies, checks
# ---------------------------------------------------------------------------------------------


def test_provisioned_units_are_a_term_of_whole_periods(tmp_path) -> None:
    # quarterly horizon of 2027; a 3-month term covers one quarter. A unit (1000 tokens/s) costs
    # 5 USD/h = 0.005 per token/s-hour < on demand 0.0036 × 2.5 = 0.009: one unit per quarter.
    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 20.0)])
    sc = scenario(
        horizon={**horizon(4), "period": "quarter"},
        terms=[],
        workloads=[inference("chat", 1000)],
        managed_platforms=[
            {
                "name": "bedrock",
                "provider": "aws",
                "input_usd_per_million_tokens": 0.0,
                "output_usd_per_million_tokens": 2.5,
                "provisioned": {
                    "usd_per_unit_hour": 5.0,
                    "tokens_per_s_per_unit": 1000,
                    "term_months": 3,
                },
            }
        ],
        policies=NO_OUTAGES,
    )
    plan = solve_scenario(sc, catalog=cat).plan
    com = plan.tables["commitments"]
    assert list(com["commitment"]) == ["provisioned"] * 4
    assert list(com["periods_covered"]) == [1, 1, 1, 1]
    assert com["instances"].to_numpy() == pytest.approx([1000.0] * 4)
    assert plan.objective_usd == approx(1000 * 0.005 * H2027)  # 43 800 USD
    # whole-term value: 0.005 × 3 months × 730 h × 1000 tokens/s = 10 950 USD
    assert com["contract_value_usd"].iloc[0] == approx(10_950.0)


def _route_scenario() -> dict:
    return {
        "horizon": horizon(3),
        "terms": [],
        "workloads": [inference("chat", 1000)],
        "owned_sites": [SITE],
        "managed_platforms": [
            {
                "name": "bedrock",
                "provider": "aws",
                "input_usd_per_million_tokens": 0.0,
                "output_usd_per_million_tokens": 6.0,
            }
        ],
        "policies": {"outages": "providers"},
    }


def test_compare_rent_build_managed(tmp_path) -> None:
    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 3.0)])
    sc = scenario(**_route_scenario())
    assert not strategy_scenario(sc, "rent-only").owned_sites
    table, plans = compare(sc, ["multi", "rent-only", "build-only", "managed-only"], catalog=cat)
    assert list(table["strategy"]) == ["multi", "rent-only", "build-only", "managed-only"]
    used = {s: set(p.tables["allocation"]["provider"]) for s, p in plans.items()}
    assert used["rent-only"] == {"nebius"}
    assert used["build-only"] == {"owned:dc1"}
    assert used["managed-only"] == {"aws"}
    # the full plan costs no more than any single route
    assert (table["npv_usd"].iloc[0] <= table["npv_usd"].iloc[1:] + 1e-6).all()
    with pytest.raises(InputError, match="no managed_platforms"):
        strategy_scenario(
            scenario(**{**_route_scenario(), "managed_platforms": []}), "managed-only"
        )


def test_checks_locate_route_problems(tmp_path) -> None:
    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 3.0)])
    sc = scenario(
        horizon=horizon(1),
        workloads=[inference("chat", 1000), {"name": "t", "kind": "batch", "demand_gpus": 1}],
        owned_sites=[site(accelerator="L4", hardware_usd_per_accelerator=None)],
        managed_platforms=[
            {"name": "m", "provider": "aws", "model": "Llama 3.3 70B Instrukt"},
            {
                "name": "n",
                "provider": "aws",
                "input_usd_per_million_tokens": 1,
                "output_usd_per_million_tokens": 1,
                "workloads": ["chta", "t"],
            },
        ],
        policies={"max_share": {"owned:dc1": 0.5, "aws": 0.6}},
    )
    problems = {p.path: p.message for p in check_scenario(sc, cat)}
    assert "hardware price for L4" in problems["owned_sites[0].accelerator"]
    assert "Did you mean 'Llama 3.3 70B Instruct'" in problems["managed_platforms[0].model"]
    assert "did you mean 'chat'" in problems["managed_platforms[1].workloads[0]"]
    assert "inference only" in problems["managed_platforms[1].workloads[1]"]
    assert not any(p.startswith("policies") for p in problems)  # owned:dc1 and aws are in play


def test_scenario_rejects_duplicate_and_unpriced_entries() -> None:
    with pytest.raises(Exception, match="two owned_sites are named"):
        scenario(horizon=horizon(1), workloads=[inference("chat", 1)], owned_sites=[SITE, SITE])
    with pytest.raises(Exception, match="give model"):
        scenario(
            horizon=horizon(1),
            workloads=[inference("chat", 1)],
            managed_platforms=[{"name": "m", "provider": "aws"}],
        )


def test_route_plan_round_trips_reports_and_simulates(tmp_path) -> None:
    from rich.console import Console

    from hyperplan.plan.api import Plan
    from hyperplan.report.html import render_report
    from hyperplan.report.terminal import print_plan
    from hyperplan.sim.api import simulate

    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 3.0)])
    plan = solve_scenario(scenario(**_route_scenario()), catalog=cat).plan
    assert len(plan.tables["owned_builds"])  # owning (1.83 USD/h) beats 2.16 and 3 USD/h
    back = Plan.from_dict(plan.to_dict())
    for name in ("routes", "owned_builds", "owned_capex", "break_even"):
        assert back.tables[name].shape == plan.tables[name].shape, name
    html = render_report(back)
    assert "Rent, build or managed" in html and "Capex of owned builds by year" in html
    console = Console(width=100, record=True)
    print_plan(back, console)
    text = console.export_text()
    assert "Rent, build or managed" in text and "busy >" in text
    # the simulator knows the owned site as a failure domain of its own
    result = simulate(back, trials=8, years=1.0, workers=1)
    assert "outage_hours:owned:dc1" in set(result.summary()["metric"])
