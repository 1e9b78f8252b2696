"""The flagship example answers build-or-buy (issue 12, point 6).

* ``build-only`` (and ``managed-only``) plan even when reservations already held would break the
  share cap while the sites are being built (hand-derived case);
* the executive summary says what share of the plan is built, rented and bought as tokens, and
  why (hand-derived shares from a plan with all three routes);
* frontier-2030 holds owned sites and managed platforms, every number tagged with a source.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hyperplan.plan import solve_scenario
from hyperplan.plan.compare import strategy_scenario
from hyperplan.report.route_mix import route_mix, route_mix_lines
from hyperplan.scenario.load import load_scenario
from plan_helpers import OWNED_SITE, horizon, inference, offer, scenario, tiny_catalog, total

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "frontier-2030.yaml"

#: an owned H100 site of 1-GPU, 1 kW servers (as tests/test_routes.py), undiscounted: a server
#: costs (876 / 10 + 43 800 / 3 + 0.01 × 44 676) / 8760 + 0.1 = 15 134.36 / 8760 + 0.1 USD/h
SITE = OWNED_SITE
SERVER_USD_PER_HOUR = 15_134.36 / 8760 + 0.1


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-6, abs=1e-6)


def test_build_only_plans_despite_a_held_reservation_and_a_share_cap(tmp_path) -> None:
    # 2027-2028; nebius b1 (3 USD/h) with 4 instances already reserved for 2027 at 1.2 USD/h;
    # an owned site whose first power comes one year after the decision. build-only serves chat
    # only from the site: nothing in 2027, so 2027's only spend is the reservation (nebius 100%
    # of spend > the 50% cap: no plan under the cap). Without the cap: 2028 builds 10 servers
    # for 1000 tok/s: 10 × SERVER_USD_PER_HOUR × 8784 h = 160 542.63 USD.
    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 3.0)])
    sc = scenario(
        horizon=horizon(2),
        terms=[],
        reservations=[
            {
                "provider": "nebius",
                "region": "eu-north1",
                "instance_type": "b1",
                "instances": 4,
                "start": "2027-01-01",
                "end": "2028-01-01",
                "usd_per_hour": 1.2,
            }
        ],
        workloads=[inference("chat", 1000)],
        owned_sites=[{**SITE, "lead_time_periods": 1}],
        policies={"outages": "none", "max_share": 0.5},
    )
    variant = strategy_scenario(sc, "build-only")
    assert variant.policies.max_share is None
    plan = solve_scenario(variant, catalog=cat).plan
    spend = plan.tables["spend"]
    assert total(spend, "usd", provider="nebius") == approx(4 * 1.2 * 8760)
    assert total(spend, "usd", provider="owned:dc1") == approx(10 * SERVER_USD_PER_HOUR * 8784)
    # chat goes unserved in 2027 (no owned capacity yet): a loud miss, not a silent one
    m = plan.misses()
    assert list(m["kind"]) == ["demand"] and m["achieved"][0] == approx(0.0)


def _three_routes(tmp_path):
    # 2027, undiscounted, no outages. Demand 1000 tok/s + 300 tok/s on a second service.
    # * owned dc1: at most 4 servers (4 × 1 kW × PUE 1 = 0.004 MW cap), 100 tok/s each, at
    #   SERVER_USD_PER_HOUR = 1.8276 USD/h: the cheapest route, built to its cap: 400 tok/s;
    # * managed bedrock: 6 USD per M output tokens = 0.0216 USD per token/s-hour = 2.16 USD/h
    #   per 100 tok/s, capped at 300 tok/s: second cheapest, at its cap;
    # * rented nebius b1 at 3 USD/h per 100 tok/s: the rest, 1300 − 400 − 300 = 600 tok/s.
    # The server price above is the annualised capex: `end_effects: prorate` (under the default
    # `full`, a one-year horizon would carry the whole 3-year hardware cost and build nothing).
    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 3.0)])
    sc = scenario(
        horizon={**horizon(1), "end_effects": "prorate"},
        terms=[],
        workloads=[inference("chat", 1000), inference("chat-b", 300)],
        owned_sites=[{**SITE, "max_mw": 0.004}],
        managed_platforms=[
            {
                "name": "bedrock",
                "provider": "aws",
                "input_usd_per_million_tokens": 0.0,
                "output_usd_per_million_tokens": 6.0,
                "max_tokens_per_s": 300,
            }
        ],
        policies={"outages": "none"},
    )
    return solve_scenario(sc, catalog=cat).plan


def test_route_mix_shares_of_tokens_gpu_hours_and_spend(tmp_path) -> None:
    plan = _three_routes(tmp_path)
    mix = route_mix(plan).set_index("route")
    # tokens: 600 / 400 / 300 of 1300 tok/s, all year
    assert mix.loc["rented", "token_share"] == approx(600 / 1300)
    assert mix.loc["owned", "token_share"] == approx(400 / 1300)
    assert mix.loc["managed", "token_share"] == approx(300 / 1300)
    assert mix.loc["managed", "tokens"] == approx(300 * 8760 * 3600)
    # busy GPU-hours: 6 rented and 4 owned GPUs, all year (a managed token uses no GPU of ours)
    assert mix.loc["rented", "gpu_share"] == approx(0.6)
    assert mix.loc["owned", "gpu_share"] == approx(0.4)
    assert mix.loc["managed", "gpu_hours"] == 0.0
    # USD: rented 6 × 3 × 8760 = 157 680; owned 4 × 1.8276... × 8760 = 64 041.44;
    # managed 300 × 0.0216 × 8760 = 56 764.8
    usd = {"rented": 157_680.0, "owned": 4 * SERVER_USD_PER_HOUR * 8760, "managed": 56_764.8}
    for route, value in usd.items():
        assert mix.loc[route, "usd"] == approx(value)
        assert mix.loc[route, "usd_share"] == approx(value / sum(usd.values()))
    lines = route_mix_lines(plan)
    assert lines[0] == "Inference tokens: 46.2% rented, 30.8% built, 23.1% bought as tokens."
    assert lines[1] == "Busy GPU-hours: 60.0% rented, 40.0% built."
    # why: the owned site against renting (1.828 vs 3 USD/GPU-h: wins above 60.9% busy)
    owned = next(line for line in lines if line.startswith("owned:dc1"))
    assert "USD 1.828 per GPU-hour flat out, against USD 3 on demand" in owned
    assert "owning wins when busy more than 60.9% of the hours" in owned
    assert "Limit: its power cap binds" in owned
    managed = next(line for line in lines if line.startswith("aws:"))
    assert "USD 6 per million output tokens" in managed
    assert "Limit: its throughput cap binds in 1 period(s)" in managed


def test_terminal_and_html_summaries_say_build_rent_or_buy(tmp_path) -> None:
    from rich.console import Console

    from hyperplan.report.html import render_report
    from hyperplan.report.terminal import print_plan

    plan = _three_routes(tmp_path)
    console = Console(record=True, width=100)
    print_plan(plan, console)
    text = " ".join(console.export_text().split())
    assert "Inference tokens: 46.2% rented, 30.8% built, 23.1% bought as tokens." in text
    html = render_report(plan)
    assert "<h3>Build, rent or buy</h3>" in html
    assert "Inference tokens: 46.2% rented, 30.8% built, 23.1% bought as tokens." in html


# ----------------------------------------------------------------------------------------------
# The flagship example
# ----------------------------------------------------------------------------------------------


def test_frontier_has_owned_sites_and_managed_platforms() -> None:
    s = load_scenario(EXAMPLE)
    assert {site.name for site in s.owned_sites} == {"texas", "nordic"}
    nordic = next(site for site in s.owned_sites if site.name == "nordic")
    assert nordic.geo == "eu"  # closes chat-eu's N-1 gap under an aws outage
    assert {p.name for p in s.managed_platforms} == {"bedrock", "vertex"}
    for strategy in ("multi", "rent-only", "build-only", "managed-only"):
        strategy_scenario(s, strategy)  # each strategy applies to the example


def test_frontier_build_and_buy_numbers_carry_a_source() -> None:
    """Every value line of the owned_sites and managed_platforms blocks is tagged."""
    text = EXAMPLE.read_text(encoding="utf-8")
    block = text[text.index("\nowned_sites:") : text.index("\nworkloads:")]
    values = [
        line
        for line in block.splitlines()
        if re.match(r"^\s+[a-z_]+: [0-9]", line)  # a numeric field
    ]
    assert len(values) >= 15
    untagged = [v for v in values if not re.search(r"\[(A|catalog|000|002)\]", v)]
    assert not untagged, untagged


def test_the_size_estimate_counts_builds_cut_by_their_lead_time(tmp_path) -> None:
    # Three years, a site with a one-year lead time: a build decided in 2029 would first power
    # up after the horizon, so only 2027 and 2028 get a build column (2 columns, covering 2 + 1
    # periods); the estimate used to count 3 columns and 3 + 2 + 1 covered periods.
    from hyperplan.plan.build import build
    from hyperplan.plan.estimate import estimate
    from hyperplan.plan.inputs import resolve

    cat = tiny_catalog(tmp_path, [offer("nebius", "eu-north1", "b1", 3.0)])
    sc = scenario(
        horizon=horizon(3),
        terms=[],
        workloads=[inference("chat", 1000)],
        owned_sites=[{**SITE, "lead_time_periods": 1}],
        policies={"outages": "providers"},
    )
    inp = resolve(sc, cat)
    for outages in (True, False):
        lm = build(inp, outages=outages).lm
        est = estimate(inp, outages=outages)
        assert lm.cols["reserve"].size == 2
        assert est.families["reserve"] == 2
        assert (est.columns, est.rows) == (lm.n_cols, lm.n_rows)
        assert lm.matrix().nnz <= est.nonzeros
