"""Scaling the model for HiGHS (issue 19): factors, exactness, answers in the user's units.

Hand derivations: a family's factor is the smallest power of two bringing its largest finite
bound to at most 1e6, e.g. 3e9 / 2^12 = 732,421.875 ≤ 1e6 < 3e9 / 2^11 = 1,464,843.75.
"""

from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest

import hyperplan.plan.solve as solve_mod
from hyperplan.plan.api import solve_scenario
from hyperplan.plan.model import LinearModel
from hyperplan.plan.numerics import numerics_warnings, solver_scaling_lines
from hyperplan.plan.scaling import compute_scaling, family_slices, identity_scaling
from hyperplan.plan.sensitivity import walk_away_values
from hyperplan.plan.solve import SolverOptions, make_highs, run, scaling_of, solve
from plan_helpers import horizon, inference, offer, scenario, tiny_catalog

H2027, H2028 = 8760.0, 8784.0


def _model() -> LinearModel:
    """min 1·z + 5·u  s.t.  1000·z + u = D (demand, D = 8e9 and 1e3), z ≤ 2e6 (a cap row);
    one integer column b ≤ 5e7 in a row b ≤ 5e7."""
    lm = LinearModel()
    z = lm.add_cols("allocate", np.ones(2), 0.0, np.inf)
    u = lm.add_cols("unserved", np.full(2, 5.0), 0.0, np.array([8e9, 1e3]))
    b = lm.add_cols("site", np.zeros(1), 0.0, 5e7, integer=True)
    d = lm.add_rows("demand", np.array([8e9, 1e3]), np.array([8e9, 1e3]), 2)
    cap = lm.add_rows("pool-market", -np.inf, 2e6, 1)
    big = lm.add_rows("site-link", -np.inf, 5e7, 1)
    exact = lm.add_rows("power-total", -np.inf, 1e6, 1)
    lm.add_coefs(d, z, 1000.0)
    lm.add_coefs(d, u, 1.0)
    lm.add_coefs(cap, z[:1], 1.0)
    lm.add_coefs(big, b, 1.0)
    lm.add_coefs(exact, z[1:], 1.0)
    return lm


def _scaling(lm: LinearModel):
    return compute_scaling(family_slices(lm.cols, lm.rows), lm.arrays(), lm.matrix())


def test_family_factor_is_the_smallest_power_of_two_bringing_it_under_1e6() -> None:
    lm = _model()
    s = _scaling(lm)
    # demand: 8e9 / 2^13 = 976,562.5 ≤ 1e6 < 8e9 / 2^12; the whole family, 1e3 row included
    assert s.row[lm.rows["demand"].slice].tolist() == [2.0**-13, 2.0**-13]
    assert s.col[lm.cols["unserved"].slice].tolist() == [2.0**13, 2.0**13]
    # 2e6 / 2 = 1e6 exactly: one halving; 1e6 is already within the limit
    assert s.row[lm.rows["pool-market"].slice].tolist() == [0.5]
    assert s.row[lm.rows["power-total"].slice].tolist() == [1.0]
    # no finite bound beyond 1e6
    assert s.col[lm.cols["allocate"].slice].tolist() == [1.0, 1.0]


def test_integer_columns_and_the_rows_holding_them_keep_their_units() -> None:
    lm = _model()
    s = _scaling(lm)
    assert s.col[lm.cols["site"].slice].tolist() == [1.0]  # 5e7 would be 2^6
    assert s.row[lm.rows["site-link"].slice].tolist() == [1.0]
    # and numerics_warnings says so, naming the family and the value in both units
    warned = [w for w in numerics_warnings(lm) if "reach" in w]
    assert len(warned) == 2  # the column bound and the row bound
    assert "5e+07 in site " in warned[0] and "5e+07 in site-link " in warned[1]


def test_scaled_model_is_the_same_model_exactly() -> None:
    lm = _model()
    s = _scaling(lm)
    arrays, A = lm.arrays(), lm.matrix()
    scaled, As = s.model(arrays, A)
    # powers of two: undoing the scaling gives back every number bit for bit
    assert np.array_equal(scaled["ub"] * s.col, arrays["ub"])
    assert np.array_equal(scaled["row_lo"] / s.row, arrays["row_lo"])
    assert np.array_equal(scaled["cost"] / s.col, arrays["cost"])
    coo, coo_s = A.tocoo(), As.tocoo()
    assert np.array_equal(coo_s.data / (s.row[coo_s.row] * s.col[coo_s.col]), coo.data)
    # the unserved coefficient stays 1 and the demand rows' right-hand sides come under 1e6
    assert As[lm.rows["demand"].start, lm.cols["unserved"].start] == 1.0
    assert scaled["row_hi"][lm.rows["demand"].slice].tolist() == [976_562.5, 1e3 * 2.0**-13]


def test_solution_and_duals_come_back_in_the_users_units() -> None:
    # z ≤ 2e6 serves 2e9 of the 8e9 demand at 1/1000 per unit; u takes the other 6e9 at 5
    # per unit, so the first demand row's dual is 5 (the penalty) and the second's 1/1000
    lm = _model()
    sol = solve(lm)
    assert not scaling_of(sol.highs).is_identity
    z, u = lm.cols["allocate"].slice, lm.cols["unserved"].slice
    assert sol.col_value[z] == pytest.approx([2e6, 1.0], rel=1e-12)
    assert sol.col_value[u] == pytest.approx([6e9, 0.0], rel=1e-12, abs=1e-9)
    assert sol.objective == pytest.approx(2e6 + 1.0 + 5 * 6e9, rel=1e-12)
    assert sol.row_dual[lm.rows["demand"].slice] == pytest.approx([5.0, 1e-3], rel=1e-12)
    # the cap row's dual: one more instance saves 1000 units of penalty (5 each) minus its 1
    assert sol.row_dual[lm.rows["pool-market"].slice] == pytest.approx([-4999.0], rel=1e-12)
    assert sol.row_value[lm.rows["demand"].slice] == pytest.approx([8e9, 1e3], rel=1e-12)
    # reduced cost of u[1] (not used): 5 − 1e-3
    assert sol.col_dual[u][1] == pytest.approx(5 - 1e-3, rel=1e-12)


def test_make_highs_without_scaling_holds_the_model_as_built() -> None:
    lm = _model()
    h = make_highs(lm, SolverOptions(), scale=False)
    assert scaling_of(h).is_identity
    lp = h.getLp()
    assert np.array_equal(np.asarray(lp.row_upper_), lm.arrays()["row_hi"])
    scaled = make_highs(lm, SolverOptions()).getLp()
    assert float(np.max(np.asarray(scaled.row_upper_))) <= 5e7  # only the integer row left


# ---------------------------------------------------------------------------------------------
# End to end: a plan with 3e9 tokens/s of demand (HiGHS gets demand rows scaled by 2^-12)
# ---------------------------------------------------------------------------------------------

DEMAND = 3e9  # tokens/s; 1000 tokens/s per instance: 3e6 instances
BASE_USD = 3e6 * 2.0 * H2027  # 5.256e10 USD at 2 USD/h


def _big(tmp_path, providers: dict[str, float]):
    cat = tiny_catalog(tmp_path, [offer(p, "us-east-1", "h1", usd) for p, usd in providers.items()])
    sc = scenario(
        horizon=horizon(1, "year"),
        providers={p: {} for p in providers},
        terms=[],
        offers={"ondemand_cap": "unlimited"},
        workloads=[inference("chat", DEMAND, perf=1000.0)],
        policies={"outages": "none", "unserved_penalty_factor": 10.0},
    )
    return solve_scenario(sc, catalog=cat)


def test_large_demand_plan_is_reported_in_users_units(tmp_path) -> None:
    solved = _big(tmp_path, {"a": 2.0})
    lm = solved.model.lm
    s = scaling_of(solved.solution.highs)
    assert np.all(s.row[lm.rows["demand"].slice] == 2.0**-12)
    plan = solved.plan
    assert plan.objective_usd == pytest.approx(BASE_USD, rel=1e-9)
    assert plan.tables["allocation"]["instances"].sum() == pytest.approx(3e6, rel=1e-9)
    # marginal cost of a token/s for an hour: 2 USD/h per 1000 tokens/s
    shadow = plan.tables["shadow_prices"]
    assert shadow["usd_per_unit_hour"].iloc[0] == pytest.approx(2.0 / 1000.0, rel=1e-9)
    assert not [w for w in plan.warnings if "HiGHS reports" in w]


HIGHS_VERDICT = pytest.mark.skipif(
    tuple(int(x) for x in metadata.version("highspy").split(".")[:2]) < (1, 16),
    reason="HiGHS before 1.16 does not log its 'badly scaled' verdict through the logging "
    "callback this reads (seen on 1.13.0, the lower bound); the newest lane checks it",
)


@HIGHS_VERDICT
def test_large_demand_plan_is_the_unscaled_plan(tmp_path, monkeypatch) -> None:
    scaled = _big(tmp_path, {"a": 2.0, "b": 3.0})
    monkeypatch.setattr(
        solve_mod,
        "compute_scaling",
        lambda families, arrays, A: identity_scaling(len(arrays["lb"]), len(arrays["row_lo"])),
    )
    plain = _big(tmp_path, {"a": 2.0, "b": 3.0})
    assert scaling_of(plain.solution.highs).is_identity
    assert scaled.solution.objective == pytest.approx(plain.solution.objective, rel=1e-12)
    assert scaled.solution.row_dual == pytest.approx(plain.solution.row_dual, rel=1e-9, abs=1e-12)
    # without scaling HiGHS calls the model badly scaled, and the plan says so
    assert [w for w in plain.plan.warnings if "HiGHS reports" in w and "badly scaled" in w]


@pytest.mark.parametrize("workers", [1, 2])
def test_walk_away_on_a_scaled_model(tmp_path, workers) -> None:
    solved = _big(tmp_path, {"a": 2.0, "b": 3.0})
    wa = walk_away_values(solved, workers=workers, min_columns_for_processes=0)
    wa = wa.set_index("provider")
    # without a: 3e6 instances at b, +1 USD/h each; without b (unused, its bounds restored
    # after a's re-solve): nothing
    assert wa.loc["a", "walk_away_usd"] == pytest.approx(3e6 * 1.0 * H2027, rel=1e-9)
    assert wa.loc["b", "walk_away_usd"] == pytest.approx(0.0, abs=1e-3)
    assert (wa["penalty_usd"].abs() < 1e-3).all()


def test_walk_away_penalty_is_read_in_users_units(tmp_path) -> None:
    solved = _big(tmp_path, {"a": 2.0})
    wa = walk_away_values(solved, workers=1).set_index("provider")
    # without a nothing serves: 3e9 tokens/s unserved for 8760 h at 10 × 0.002 USD each
    assert wa.loc["a", "penalty_usd"] == pytest.approx(10 * BASE_USD, rel=1e-9)
    assert wa.loc["a", "walk_away_usd"] == pytest.approx(-BASE_USD, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# A MILP: values and duals from the LP with the site choice fixed, started from the MILP
# ---------------------------------------------------------------------------------------------


def test_milp_plan_is_the_fixed_lp_optimum_and_its_duals_price_it(tmp_path) -> None:
    # two regions at 2 USD/h; a contract makes aws 1 USD/h in 2027 and nebius 1 USD/h in 2028;
    # one site for a run of 1e5 instances through both years (1.7544e9 GPU-hours: training
    # rows scaled by 2^-11). nebius only: 1e5 × (2 × 8760 + 1 × 8784) = 2.6304e9 USD
    cat = tiny_catalog(
        tmp_path, [offer("aws", "us-east-1", "a1", 2.0), offer("nebius", "eu-north1", "b1", 2.0)]
    )
    contract = {"committed_usd": 0, "discount": 0.5}
    sc = scenario(
        horizon=horizon(2),
        terms=[],
        offers={"ondemand_cap": "unlimited"},
        contracts=[
            {"name": "c1", "provider": "aws", "start": "2027-01-01", "end": "2028-01-01"}
            | contract,
            {"name": "c2", "provider": "nebius", "start": "2028-01-01", "end": "2029-01-01"}
            | contract,
        ],
        workloads=[
            {
                "name": "run",
                "kind": "training",
                "compute_gpu_hours": 1e5 * (H2027 + H2028),
                "perf": {"H100": 1.0},
                "start": "2027-01-01",
                "deadline": "2029-01-01",
                "max_instances": 1e5,
                "single_site": True,
            }
        ],
        policies={"outages": "none"},
    )
    solved = solve_scenario(sc, catalog=cat)
    lm, sol = solved.model.lm, solved.solution
    assert sol.mip_gap is not None and sol.has_duals
    assert scaling_of(sol.highs).row[lm.rows["training-compute"].start] == 2.0**-11
    assert solved.plan.objective_usd == pytest.approx(1e5 * (2 * H2027 + H2028), rel=1e-9)
    assert set(solved.plan.tables["allocation"]["region"]) == {"eu-north1"}
    # complementary slackness: a row with a nonzero dual is at one of its bounds
    arrays = lm.arrays()
    priced = np.flatnonzero(np.abs(sol.row_dual) > 1e-9)
    assert priced.size
    gap = np.minimum(
        np.abs(sol.row_value[priced] - arrays["row_lo"][priced]),
        np.abs(sol.row_value[priced] - arrays["row_hi"][priced]),
    )
    assert np.all(gap <= 1e-6 * np.maximum(1.0, np.abs(sol.row_value[priced])))


# ---------------------------------------------------------------------------------------------
# HiGHS's own verdict, read from its log
# ---------------------------------------------------------------------------------------------


@HIGHS_VERDICT
def test_highs_scaling_warnings_are_read_from_its_log() -> None:
    lm = _model()
    sol = run(make_highs(lm, SolverOptions(), scale=False), is_mip=True)
    lines = solver_scaling_lines(sol.solver_warnings)
    assert any("badly scaled" in line for line in lines)
    assert all(not line.startswith("WARNING") for line in lines)
    warned = numerics_warnings(lm, sol)
    assert [w for w in warned if w.startswith("HiGHS reports") and "badly scaled" in w]


def test_a_lone_small_cost_note_is_not_a_verdict() -> None:
    lines = ["WARNING: Problem has some excessively small costs"]
    assert solver_scaling_lines(lines) == []
    lines.append("WARNING: Problem has some excessively large bounds on constraints")
    assert solver_scaling_lines(lines) == [
        "Problem has some excessively small costs.",
        "Problem has some excessively large bounds on constraints.",
    ]
