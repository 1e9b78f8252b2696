"""Property tests: on random small scenarios the plan is consistent with its own tables.

Every plan must satisfy, recomputed here from its tables and the catalog prices (not from the
model's matrix):

* the spend table equals the cost of its commitments (instances × price × hours of each covered
  period inside the horizon) and of its on-demand allocations (instances × price × hours);
* reserved capacity equals the commitments covering each period, and no reserved pool is used
  beyond it;
* no provider's share of spend exceeds its cap in any period;
* every demand is covered: served + unserved ≥ demand, with equality where demand goes unserved,
  and no on-demand instance is bought beyond the demand;
* with outages off, the objective is the spend plus the unserved penalty.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hyperplan.plan import solve_scenario
from plan_helpers import inference, offer, scenario, tiny_catalog

# When a property fails, hypothesis' pytest plugin imports ``hypothesis.extra._patching``
# (libcst) inside a report hook; with libcst's deprecated mypy_extensions import and the
# project's ``filterwarnings = error`` that turns a plain failure into an INTERNALERROR. Import it
# once here with the warning silenced so a failing property reports normally.
with warnings.catch_warnings(), contextlib.suppress(ImportError):  # no libcst: no patches
    warnings.simplefilter("ignore")
    import hypothesis.extra._patching  # noqa: F401

PROVIDERS = ("aws", "nebius", "lambda")
REGIONS = ("us-east-1", "eu-west-1")
TOL_USD = 1e-2  # absolute slack on money (the spend table drops entries below 1e-6 USD)
TOL = 1e-6

prices = st.integers(100, 500).map(lambda c: c / 100)  # USD per GPU-hour, cents
fractions = st.integers(30, 95).map(lambda p: p / 100)


@st.composite
def offer_rows(draw) -> list[dict]:
    rows = []
    for p in PROVIDERS[: draw(st.integers(2, 3))]:
        for i in range(draw(st.integers(1, 3))):
            gpus = draw(st.sampled_from([1, 2, 8]))
            od = draw(prices) * gpus
            extra: dict = {"accelerators_per_instance": gpus}
            # blank reserved cells take the catalog's rule-based price
            r1 = draw(st.none() | fractions)
            r3 = draw(st.none() | fractions)
            extra["reserved_1y_usd_per_hour"] = None if r1 is None else round(od * r1, 4)
            extra["reserved_3y_usd_per_hour"] = None if r3 is None else round(od * r3, 4)
            rows.append(offer(p, REGIONS[i % 2], f"{p}-x{i}", od, **extra))
    return rows


@st.composite
def small_plans(draw) -> tuple[list[dict], dict]:
    rows = draw(offer_rows())
    period = draw(st.sampled_from(["quarter", "year"]))
    T = draw(st.integers(1, 4))
    demand = st.lists(st.integers(0, 40).map(lambda k: 100.0 * k), min_size=T, max_size=T)
    workloads = [
        inference(
            f"w{j}",
            draw(demand),
            perf=float(draw(st.sampled_from([50, 100, 150]))),
            resilience=draw(st.sampled_from([0.0, 0.5, 0.8, 1.0])),
        )
        for j in range(draw(st.integers(1, 2)))
    ]
    share = draw(st.integers(50, 100)) / 100
    policies = {
        "outages": draw(st.sampled_from(["none", "providers"])),
        "max_share": share if share < 1 else None,
    }
    offers: dict = {}
    cap = draw(st.none() | st.integers(0, 4))
    if cap is not None:
        offers["ondemand_cap"] = cap
    supply = draw(st.none() | st.integers(0, 4))  # new reserved instances per offer and period
    if supply is not None:
        offers["supply"] = supply
    data = {
        "horizon": {"start": "2027-01-01", "period": period, "periods": T, "discount_rate": 0.0},
        "terms": draw(st.sampled_from([[1], [1, 3], [3]])),
        "offers": offers,
        "workloads": workloads,
        "policies": policies,
    }
    return rows, data


def _solve(tmp_path_factory, rows, data):
    cat = tiny_catalog(tmp_path_factory.mktemp("cat"), rows)
    return cat, solve_scenario(scenario(**data), catalog=cat)


def _key(df):
    return df["provider"] + ":" + df["region"] + ":" + df["instance_type"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=small_plans())
def test_plan_is_consistent_with_its_own_tables(tmp_path_factory, case) -> None:
    rows, data = case
    cat, solved = _solve(tmp_path_factory, rows, data)
    plan = solved.plan
    t = plan.tables
    T = data["horizon"]["periods"]
    hours = t["workloads"].groupby("period_index")["hours"].first().reindex(range(T)).to_numpy()
    per_year = {"quarter": 4, "year": 1}[data["horizon"]["period"]]

    # --- spend recomputed from commitments and allocations, at catalog prices ----------------
    expect: dict[tuple[str, str, int], float] = defaultdict(float)
    com = t["commitments"]
    covered = defaultdict(float)  # (offer, period) -> reserved instances
    for c in com.itertuples():
        oid = f"{c.provider}:{c.region}:{c.instance_type}"
        price = cat.offers.loc[oid, f"reserved_{c.term_years}y_usd_per_hour"]
        assert c.usd_per_hour == pytest.approx(price, rel=1e-9)
        for p in range(c.start_index, min(T, c.start_index + c.term_years * per_year)):
            expect[(c.provider, "reserved", p)] += c.instances * price * hours[p]
            covered[(oid, p)] += c.instances
    alloc = t["allocation"]
    for a in alloc[alloc["market"] == "ondemand"].itertuples():
        oid = f"{a.provider}:{a.region}:{a.instance_type}"
        price = cat.offers.loc[oid, "ondemand_usd_per_hour"]
        expect[(a.provider, "ondemand", a.period_index)] += (
            a.instances * price * hours[a.period_index]
        )
    spend = t["spend"]
    assert set(spend["market"]) <= {"reserved", "ondemand"}
    reported = {
        (r.provider, r.market, r.period_index): r.usd for r in spend.itertuples() if r.usd != 0
    }
    for key in set(expect) | set(reported):
        assert reported.get(key, 0.0) == pytest.approx(expect.get(key, 0.0), rel=1e-6, abs=TOL_USD)

    # --- reserved capacity = commitments covering the period; pools within capacity ----------
    cap = t["capacity"]
    cap_res = defaultdict(float)
    for c in cap.itertuples():
        cap_res[(f"{c.provider}:{c.region}:{c.instance_type}", c.period_index)] += (
            c.reserved_instances
        )
    for key in set(cap_res) | set(covered):
        assert cap_res.get(key, 0.0) == pytest.approx(covered.get(key, 0.0), rel=1e-6, abs=TOL)
    res = alloc[alloc["market"] == "reserved"]
    used = res.assign(oid=_key(res)).groupby(["oid", "period_index"])["instances"].sum()
    for (oid, p), n in used.items():
        assert n <= cap_res.get((oid, p), 0.0) + TOL
    # on demand within its cap
    if "ondemand_cap" in data["offers"]:
        od = alloc[alloc["market"] == "ondemand"]
        per_offer = od.assign(oid=_key(od)).groupby(["oid", "period_index"])["instances"].sum()
        assert (per_offer <= data["offers"]["ondemand_cap"] + TOL).all()

    # --- provider shares of spend, per period ------------------------------------------------
    share_cap = data["policies"]["max_share"]
    if share_cap is not None and len(spend):
        by = spend.groupby(["period_index", "provider"])["usd"].sum().unstack(fill_value=0.0)
        totals = by.sum(axis=1)
        for p in by.index:
            for prov in by.columns:
                assert by.loc[p, prov] <= share_cap * totals[p] + 1e-6 * max(1.0, totals[p])

    # --- demand: covered, and never over-bought on demand ------------------------------------
    uns = t["unserved"]
    base_uns = uns[uns["scenario"] == "base"]
    labels = plan.meta["periods"]
    for wl in data["workloads"]:
        name = wl["name"]
        for p, need in enumerate(wl["demand_tokens_per_s"]):
            mine = alloc[(alloc["workload"] == name) & (alloc["period_index"] == p)]
            served = float(mine["served"].sum())
            served_od = float(mine.loc[mine["market"] == "ondemand", "served"].sum())
            short = float(
                base_uns[(base_uns["workload"] == name) & (base_uns["period"] == labels[p])][
                    "amount"
                ].sum()
            )
            slack = 1e-6 * max(1.0, need)
            assert served + short >= need - slack
            assert served_od + short <= need + slack
            if short > slack:
                assert served + short == pytest.approx(need, rel=1e-6, abs=1e-6)
            assert served >= 0 and short >= 0

    # --- outages off: objective = spend + unserved penalty -----------------------------------
    if data["policies"]["outages"] == "none":
        inp = solved.inputs
        penalty = dict(zip(inp.workload_names, inp.penalty, strict=True))
        label_hours = dict(zip(labels, hours, strict=True))
        pen = sum(
            r.amount * label_hours[r.period] * penalty[r.workload] for r in base_uns.itertuples()
        )
        # plus the post-horizon cost of commitments that end_effects (full by default) charges
        tail = float(plan.tables["commitments"]["post_horizon_charged_usd_discounted"].sum())
        assert plan.objective_usd == pytest.approx(
            float(spend["usd"].sum()) + pen + tail, rel=1e-6, abs=TOL_USD
        )


def test_served_plus_unserved_equals_demand(tmp_path_factory) -> None:
    # Mismatches are collected over a fixed (derandomized) set of draws and asserted at the end,
    # so the known failure is deterministic and costs no shrinking.
    mismatches: list[str] = []

    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(case=small_plans())
    def run(case) -> None:
        rows, data = case
        _cat, solved = _solve(tmp_path_factory, rows, data)
        t = solved.plan.tables
        alloc, uns = t["allocation"], t["unserved"]
        base_uns = uns[uns["scenario"] == "base"]
        labels = solved.plan.meta["periods"]
        for wl in data["workloads"]:
            name = wl["name"]
            for p, need in enumerate(wl["demand_tokens_per_s"]):
                mine = alloc[(alloc["workload"] == name) & (alloc["period_index"] == p)]
                served = float(mine["served"].sum())
                short = float(
                    base_uns[(base_uns["workload"] == name) & (base_uns["period"] == labels[p])][
                        "amount"
                    ].sum()
                )
                if abs(served + short - need) > 1e-6 * max(1.0, need):
                    mismatches.append(
                        f"{name} period {p}: served {served:g} + unserved {short:g} != {need:g}"
                    )

    run()
    assert not mismatches, mismatches[:5]
