"""FOCUS reading, mapping and the answers computed from bills (hyperplan.actuals).

The specification's own example rows (tests/fixtures/focus/, CC-BY-4.0) are read and their
utilisation and costs asserted against figures derived by hand from the rows (comments below).
The larger third-party sample in ``<repo>/../shared/data/focus/samples`` is checked against an
independent pandas computation when that folder is present (skipped with the reason otherwise).
"""

from __future__ import annotations

import gzip
import math
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from hyperplan.actuals import Mapping, load_mapping, read_focus
from hyperplan.actuals import answers as a
from hyperplan.actuals.contracts import load_contracts
from hyperplan.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "focus"
FLEX = FIX / "commitment_discount_flexibility"
SCEN = FIX / "commitment_discount_scenarios"


def _shared_focus() -> Path:
    """``<repo>/../shared/data/focus``; from a git worktree, beside the main checkout."""
    repo = Path(__file__).resolve().parents[1]
    candidates = [repo.parent / "shared" / "data" / "focus"]
    git = repo / ".git"
    if git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        text = git.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            main = Path(text.split(":", 1)[1].strip()).parents[2]
            candidates.append(main.parent / "shared" / "data" / "focus")
    return next((c for c in candidates if c.is_dir()), candidates[0])


SHARED = _shared_focus()


def _one(df: pd.DataFrame) -> pd.Series:
    assert len(df) == 1, df
    return df.iloc[0]


def _all_examples() -> list[Path]:
    local = sorted(FIX.rglob("*.csv"))
    shared = sorted(SHARED.rglob("*.csv")) if SHARED.is_dir() else []
    shared = [p for p in shared if "contractcommitment" not in p.name]  # not a cost dataset
    return local + shared


@pytest.mark.parametrize("path", _all_examples(), ids=lambda p: p.name)
def test_every_official_example_reads(path: Path) -> None:
    """Each example reads; rows = non-blank data lines; sums equal a plain-Python parse."""
    fr = read_focus(path)
    raw = pd.read_csv(
        path, dtype=str, keep_default_na=False, skip_blank_lines=True, encoding="utf-8-sig"
    )
    assert fr.rows == len(raw)

    def money(s: str) -> float:
        s = s.strip().replace("$", "").replace(",", "")
        return 0.0 if s in ("", "null") else float(s)

    got = fr.sql(
        "SELECT coalesce(sum(billed_usd), 0) b, coalesce(sum(effective_usd), 0) e FROM focus"
    )
    assert got["b"].iloc[0] == pytest.approx(sum(money(v) for v in raw["BilledCost"]), abs=1e-6)
    assert got["e"].iloc[0] == pytest.approx(sum(money(v) for v in raw["EffectiveCost"]), abs=1e-6)


# --- commitment_discount_flexibility: hand derivations ------------------------------------------
# one_hundred_percent_utilization_with_..._with_1_resource.csv:
#   Purchase row BilledCost 0.50 (EffectiveCost 0); Usage/Committed row Status Used
#   EffectiveCost 0.50; Usage/Standard row (no commitment) EffectiveCost 2.25.
#   utilisation = 0.50 / (0.50 + 0) = 1; waste 0; coverage = 0.50 / (0.50 + 2.25) = 2/11.
# ..._with_2_resources.csv: two Used rows of 1.00 → used 2.00, unused 0, utilisation 1;
#   purchase billed 2.00; no on-demand row → coverage 1.
# one_hundred_percent_utilization_without_...: Used 1.50 → utilisation 1; purchase 1.50.
# zero_percent_utilization_without_...: Unused 1.50 → utilisation 0, waste 1.50;
#   on-demand medium VM 2.00 → coverage 0 / (0 + 2.00) = 0.
FLEX_CASES = [
    (
        "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_1_resource.csv",
        0.50,
        0.00,
        0.50,
        2.25,
        2 / 11,
    ),
    (
        "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources.csv",
        2.00,
        0.00,
        2.00,
        0.00,
        1.0,
    ),
    (
        "one_hundred_percent_utilization_without_commitment_discount_flexibility.csv",
        1.50,
        0.00,
        1.50,
        0.00,
        1.0,
    ),
    (
        "zero_percent_utilization_without_commitment_discount_flexibility.csv",
        0.00,
        1.50,
        1.50,
        2.00,
        0.0,
    ),
]


@pytest.mark.parametrize(("name", "used", "unused", "purchase", "ondemand", "cov"), FLEX_CASES)
def test_flexibility_examples_by_hand(
    name: str, used: float, unused: float, purchase: float, ondemand: float, cov: float
) -> None:
    fr = read_focus(FLEX / name)
    u = _one(a.utilisation(fr))
    assert u["commitment_id"] == "<my-commitment-discount-id>"
    assert u["month"] == "2023-01"
    assert u["used_usd"] == pytest.approx(used, abs=1e-12)
    assert u["unused_usd"] == pytest.approx(unused, abs=1e-12)
    assert u["waste_usd"] == pytest.approx(unused, abs=1e-12)
    assert u["utilisation"] == pytest.approx(used / (used + unused), abs=1e-12)
    assert u["purchase_billed_usd"] == pytest.approx(purchase, abs=1e-12)
    c = _one(a.coverage(fr))
    assert c["covered_usd"] == pytest.approx(used, abs=1e-12)
    assert c["ondemand_usd"] == pytest.approx(ondemand, abs=1e-12)
    assert c["coverage"] == pytest.approx(cov, abs=1e-12)
    assert fr.extra_columns == ["x_CommitmentDiscountUnitPrice"]  # kept, as text
    assert "x_CommitmentDiscountUnitPrice" in fr.rows_frame().columns


# --- commitment_discount_scenarios: hand derivations --------------------------------------------
# usage_scenario_1: one Used row, EffectiveCost 1.00 → utilisation 1, waste 0.
# usage_scenario_2: one Unused row, EffectiveCost 1.00 → utilisation 0, waste 1.00.
# usage_scenario_3: Used 0.75 + Unused 0.25 → utilisation 0.75 / 1.00 = 0.75, waste 0.25.
# usage_scenario_4: Used 1.00 and an uncovered Standard row 0.50 → utilisation 1,
#   coverage 1.00 / 1.50 = 2/3.
# purchase_scenario_1: one One-Time purchase BilledCost 8760.00 → purchases 8760, no usage rows
#   → utilisation undefined (NaN).
# purchase_scenario_2: three Recurring purchases of 1.00 → 3.00; the third row's
#   ChargePeriodEnd "2023-02-01T30:00:00Z" is not a time: a warning, not an error.
# purchase_scenario_3: 4380.00 one-time + 3 × 0.50 recurring = 4381.50.
USAGE_CASES = [
    ("commitment_discount_usage_scenario_1.csv", 1.00, 0.00, 1.00),
    ("commitment_discount_usage_scenario_2.csv", 0.00, 1.00, 0.00),
    ("commitment_discount_usage_scenario_3.csv", 0.75, 0.25, 0.75),
    ("commitment_discount_usage_scenario_4.csv", 1.00, 0.00, 1.00),
]


@pytest.mark.parametrize(("name", "used", "unused", "util"), USAGE_CASES)
def test_usage_scenarios_by_hand(name: str, used: float, unused: float, util: float) -> None:
    fr = read_focus(SCEN / name)
    u = _one(a.utilisation(fr))
    assert (u["used_usd"], u["unused_usd"], u["waste_usd"]) == pytest.approx((used, unused, unused))
    assert u["utilisation"] == pytest.approx(util, abs=1e-12)


def test_usage_scenario_4_coverage_by_hand() -> None:
    c = _one(a.coverage(read_focus(SCEN / "commitment_discount_usage_scenario_4.csv")))
    assert c["coverage"] == pytest.approx(2 / 3, abs=1e-12)


@pytest.mark.parametrize(
    ("name", "billed", "warned"),
    [
        ("commitment_discount_purchase_scenario_1.csv", 8760.00, False),
        ("commitment_discount_purchase_scenario_2.csv", 3.00, True),
        ("commitment_discount_purchase_scenario_3.csv", 4381.50, True),
    ],
)
def test_purchase_scenarios_by_hand(name: str, billed: float, warned: bool) -> None:
    fr = read_focus(SCEN / name)
    u = _one(a.utilisation(fr))
    assert u["purchase_billed_usd"] == pytest.approx(billed, abs=1e-9)
    assert math.isnan(u["utilisation"])
    assert u["used_usd"] == u["unused_usd"] == 0.0
    assert any("ChargePeriodEnd" in w for w in fr.warnings) == warned


def test_spreadsheet_money_and_us_dates() -> None:
    """simple_saas_agreements_c: "$10,100.00 " + "$13,000.00 " + third row; months from M/D/YY."""
    path = FIX / "simple_saas_agreements_c.csv"
    fr = read_focus(path)
    months = fr.sql("SELECT month, sum(billed_usd) AS b FROM focus GROUP BY month ORDER BY month")
    assert months["month"].tolist() == ["2025-04", "2025-05", "2025-06"]
    assert months["b"].iloc[0] == pytest.approx(10_100.00)
    assert months["b"].iloc[1] == pytest.approx(13_000.00)


# --- located errors ------------------------------------------------------------------------------
def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


HEADER = "ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost,ProviderName,PricingCategory\n"


def test_missing_mandatory_column_is_named(tmp_path: Path) -> None:
    p = _write(tmp_path, "x.csv", "ChargePeriodStart,BilledCost\n2026-01-01T00:00:00Z,1\n")
    with pytest.raises(InputError) as exc:
        read_focus(p)
    msg = str(exc.value)
    assert "missing mandatory FOCUS column(s): ChargeCategory, EffectiveCost" in msg
    assert str(p) in msg and exc.value.exit_code == 2


def test_bad_number_located_at_row_and_column(tmp_path: Path) -> None:
    rows = [f"2026-01-0{i}T00:00:00Z,Usage,1.5,1.5,AWS,Standard\n" for i in range(1, 4)]
    rows[1] = "2026-01-02T00:00:00Z,Usage,1.5,abc,AWS,Standard\n"  # data row 2 = line 3
    p = _write(tmp_path, "bad.csv", HEADER + "".join(rows))
    with pytest.raises(InputError) as exc:
        read_focus(p)
    (prob,) = exc.value.problems
    assert (prob.file, prob.line, prob.path) == (str(p), 3, "EffectiveCost")
    assert "expected a number (found 'abc')" in prob.message


@pytest.mark.parametrize("when", ["yesterday", "2026-01-01T30:00:00Z"])
def test_bad_start_date_located(tmp_path: Path, when: str) -> None:
    """Not a date, or ISO-shaped with hour 30 (the spec example's ChargePeriodEnd quirk)."""
    p = _write(tmp_path, "d.csv", HEADER + f"{when},Usage,1,1,AWS,Standard\n")
    with pytest.raises(InputError) as exc:
        read_focus(p)
    (prob,) = exc.value.problems
    assert (prob.line, prob.path) == (2, "ChargePeriodStart")


@pytest.mark.parametrize("word", ["epoch", "infinity", "-infinity", "EPOCH", " -Infinity"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_word_duckdb_reads_as_a_date_is_refused_located(
    tmp_path: Path, word: str, suffix: str
) -> None:
    """DuckDB's strptime takes epoch/infinity/-infinity even with a numeric format: before
    DuckDB 2.0 as 1900-01-01 (found by CI on the declared lower bound, 1.1), from 2.0 'epoch'
    as 1970-01-01. A good row first, so the typed read takes the column as dates."""
    good = "2027-01-01T00:00:00Z,Usage,1,1,AWS,Standard\n"
    p = _write(tmp_path, "w.csv", HEADER + good + f"{word},Usage,1,1,AWS,Standard\n")
    if suffix == ".parquet":  # text columns, as a Parquet export without a schema has
        q = tmp_path / "w.parquet"
        duckdb.sql(
            f"COPY (SELECT * FROM read_csv('{p}', all_varchar=true)) TO '{q}' (FORMAT parquet)"
        )
        p.unlink()
        p = q
    with pytest.raises(InputError) as exc:
        read_focus(p)
    (prob,) = exc.value.problems
    assert (prob.file, prob.line, prob.path) == (str(p), 3, "ChargePeriodStart")


@pytest.mark.parametrize("force_full_route", [False, True])
def test_dates_near_the_word_instants_and_padded_dates_keep_their_month(
    tmp_path: Path, force_full_route: bool
) -> None:
    """1900-01-01 and 1970-01-01 (the instants DuckDB gives those words) are real dates when
    written as dates; a start with a leading space keeps its month (the full route's month key
    was its first 7 characters: ' 2027-0'). Expected by hand: one row per month, 1 USD each
    (2 USD in March with the spreadsheet-money row that sends the file to the full route)."""
    rows = [
        "1900-01-01T00:00:00Z,Usage,1,1,AWS,Standard\n",
        "1970-01-01T00:00:00Z,Usage,1,1,AWS,Standard\n",
        " 2027-03-01T00:00:00Z,Usage,1,1,AWS,Standard\n",
    ]
    if force_full_route:
        rows.append('2027-03-05T00:00:00Z,Usage,"$1.00",1,AWS,Standard\n')
    fr = read_focus(_write(tmp_path, "d.csv", HEADER + "".join(rows)))
    got = fr.sql("SELECT month, sum(billed_usd) AS b FROM focus GROUP BY month ORDER BY month")
    march = 2.0 if force_full_route else 1.0
    assert got["month"].tolist() == ["1900-01", "1970-01", "2027-03"]
    assert got["b"].tolist() == [1.0, 1.0, march]


def test_not_a_file_and_wrong_suffix(tmp_path: Path) -> None:
    txt = _write(tmp_path, "notes.txt", "x")
    with pytest.raises(InputError) as exc:
        read_focus(["/dev/null", str(tmp_path / "missing.csv"), str(txt)])
    msgs = [str(p) for p in exc.value.problems]
    assert any("/dev/null" in m and "not a regular file" in m for m in msgs)
    assert any("missing.csv" in m and "no such file" in m for m in msgs)
    assert any("notes.txt" in m and "expected a .csv" in m for m in msgs)


def test_gzip_parquet_and_folder_read_the_same(tmp_path: Path) -> None:
    src = SCEN / "commitment_discount_usage_scenario_3.csv"
    part = tmp_path / "parts" / "month=2023-01"
    part.mkdir(parents=True)
    with src.open("rb") as fi, gzip.open(part / "a.csv.gz", "wb") as fo:
        shutil.copyfileobj(fi, fo)
    import duckdb  # Parquet written by DuckDB: pyarrow is not a dependency

    duckdb.sql(
        f"COPY (SELECT * FROM read_csv('{src}', nullstr='null')) TO '{part / 'b.parquet'}' (FORMAT parquet)"
    )
    fr = read_focus(tmp_path / "parts")
    assert fr.rows == 4 and len(fr.files) == 2
    u = _one(a.utilisation(fr))
    assert (u["used_usd"], u["unused_usd"]) == pytest.approx((1.50, 0.50))  # twice 0.75 / 0.25


# --- mapping -------------------------------------------------------------------------------------
def test_mapping_provider_offer_market_gpu_hours(tmp_path: Path) -> None:
    """AWS p5.48xlarge (8 H100 in the catalog) via SkuPriceDetails; a SKU via the user mapping;
    an unknown provider counted, not dropped."""
    body = (
        "ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost,ProviderName,PricingCategory,"
        "ConsumedQuantity,ConsumedUnit,SkuId,SkuPriceDetails,RegionId\n"
        '2026-01-01T00:00:00Z,Usage,55.04,55.04,Amazon Web Services,Standard,1,Hours,X,"{""InstanceType"":""p5.48xlarge""}",us-east-1\n'
        "2026-01-01T00:00:00Z,Usage,30,30,AWS,Dynamic,2,Hour,MY-SKU,,us-east-1\n"
        "2026-01-01T00:00:00Z,Usage,7,7,Someone Else,Standard,1,Hour,Q,,\n"
    )
    p = _write(tmp_path, "m.csv", body)
    mp = _write(tmp_path, "map.csv", "column,value,instance_type\nSkuId,MY-SKU,p5.48xlarge\n")
    fr = read_focus(p, load_mapping(mp))
    df = fr.rows_frame().sort_values("effective_usd", ignore_index=True)
    assert df["provider"].isna().sum() == 1
    by = df.set_index("effective_usd")
    assert by.loc[55.04, "provider"] == "aws" and by.loc[55.04, "market"] == "ondemand"
    assert by.loc[55.04, "gpu_hours"] == 8.0  # 1 h × 8 GPUs
    assert by.loc[30.0, "market"] == "spot" and by.loc[30.0, "gpu_hours"] == 16.0  # 2 h × 8
    assert pd.isna(by.loc[7.0, "provider"])
    un = fr.unmapped.set_index("reason")
    assert un.loc["provider not recognised", "rows"] == 1
    assert un.loc["provider not recognised", "effective_usd"] == 7.0
    assert any("provider not recognised" in w for w in fr.warnings)
    # without the mapping, the SKU row is counted as a usage row without a GPU offer
    fr2 = read_focus(p, Mapping())
    un2 = fr2.unmapped.set_index("reason")
    assert un2.loc["usage row without a known GPU offer", "rows"] == 2  # MY-SKU and Q


# --- the third-party FOCUS 1.3 sample ------------------------------------------------------------
@pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"{SHARED} absent (shared data beside the checkout)"
)
def test_sample_totals_against_pandas() -> None:
    path = SHARED / "samples" / "focus_sample_costandusage_aws_1000.csv"
    fr = read_focus(path)
    raw = pd.read_csv(path)
    assert fr.rows == len(raw) == 1000
    got = a.spend_summary(fr).set_index("charge_category")
    want = raw.groupby("ChargeCategory")[["BilledCost", "EffectiveCost"]].sum()
    for cat in want.index:
        assert got.loc[cat, "billed_usd"] == pytest.approx(want.loc[cat, "BilledCost"], abs=1e-6)
        assert got.loc[cat, "effective_usd"] == pytest.approx(
            want.loc[cat, "EffectiveCost"], abs=1e-6
        )
    # utilisation per commitment, independently
    cd = raw[raw["CommitmentDiscountId"].notna() & (raw["ChargeCategory"] == "Usage")]
    piv = cd.pivot_table(
        index="CommitmentDiscountId",
        columns="CommitmentDiscountStatus",
        values="EffectiveCost",
        aggfunc="sum",
        fill_value=0.0,
    )
    u = a.utilisation(fr).groupby("commitment_id")[["used_usd", "unused_usd"]].sum()
    u = u.loc[piv.index]
    np.testing.assert_allclose(u["used_usd"], piv.get("Used", 0.0), atol=1e-9)
    np.testing.assert_allclose(u["unused_usd"], piv.get("Unused", 0.0), atol=1e-9)


@pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"{SHARED} absent (shared data beside the checkout)"
)
def test_sample_contract_burndown_from_contract_applied() -> None:
    """Consumed = Σ ContractCommitmentAppliedCost of the rows naming the commitment (pandas+json)."""
    import json

    path = SHARED / "samples" / "focus_sample_costandusage_aws_1000.csv"
    fr = read_focus(path)
    contracts = load_contracts(SHARED / "samples" / "focus_sample_contractcommitment_aws.csv")
    bd = a.burndown(fr, contracts).set_index("contract")
    raw = pd.read_csv(path)
    applied: dict[str, float] = {}
    for text in raw["ContractApplied"].dropna():
        for el in json.loads(text)["Elements"]:
            key = el["ContractCommitmentId"]
            applied[key] = applied.get(key, 0.0) + float(el["ContractCommitmentAppliedCost"])
    spend = bd.loc["CC-EA-SPEND-0001"]
    assert spend["consumed_usd"] == pytest.approx(applied["CC-EA-SPEND-0001"], abs=1e-6)
    assert spend["committed_usd"] == 250_000
    assert spend["basis"] == "ContractApplied"
    # one month observed (2026-05): no spread, P50 = consumed + months_left × that month
    assert spend["forecast_p10_usd"] == spend["forecast_p50_usd"] == spend["forecast_p90_usd"]
    assert spend["forecast_p50_usd"] == pytest.approx(
        spend["consumed_usd"] * (1 + spend["months_left"])
    )
    assert spend["shortfall_p50_usd"] == pytest.approx(250_000 - spend["forecast_p50_usd"])


# --- round trip: simulate → FOCUS export → read → the simulator's own totals ---------------------
@pytest.fixture(scope="module")
def small_trial(tmp_path_factory: pytest.TempPathFactory):
    from hyperplan.actuals.focus_writer import write_focus
    from hyperplan.plan import plan as make_plan
    from hyperplan.scenario.load import load_scenario
    from hyperplan.sim.api import simulate

    root = Path(__file__).resolve().parents[1]
    plan = make_plan(load_scenario(root / "examples" / "small.yaml"))
    result = simulate(plan, trials=2, seed=11, workers=1, years=1.0, step_hours=1.0)
    out = tmp_path_factory.mktemp("focus")
    path = write_focus(plan, result, out, trial=1)
    return plan, result, path


def test_round_trip_equals_simulator_totals_to_the_cent(small_trial) -> None:
    plan, result, path = small_trial
    m = result.metrics.iloc[1]
    fr = read_focus(path)
    assert fr.unmapped.empty, fr.unmapped  # every row maps: provider, offer, market
    got = fr.sql(
        """
        SELECT sum(effective_usd) FILTER (WHERE commitment_status IN ('Used', 'Unused')) AS res,
               sum(billed_usd) FILTER (WHERE charge_category = 'Purchase') AS purchases,
               sum(effective_usd) FILTER (WHERE market = 'ondemand') AS od,
               sum(effective_usd) FILTER (WHERE market = 'spot') AS spot,
               sum(effective_usd) AS total
        FROM focus
        """
    ).iloc[0]
    cent = 0.005
    assert abs(got["res"] - m["reserved_usd"]) < cent
    assert abs(got["purchases"] - m["reserved_usd"]) < cent
    assert abs(got["od"] - (m["ondemand_usd"] + m["burst_usd"])) < cent
    assert abs((got["spot"] if pd.notna(got["spot"]) else 0.0) - m["spot_usd"]) < cent
    assert abs(got["total"] - m["cost_usd"]) < cent
    # the same through the answers
    u = a.utilisation(fr)
    assert abs(u["used_usd"].sum() + u["unused_usd"].sum() - m["reserved_usd"]) < cent
    pva = a.plan_vs_actual(fr, plan)
    assert abs(pva["actual_usd"].sum() - m["cost_usd"]) < cent


def test_round_trip_utilisation_is_the_plans_use_of_reservations(small_trial) -> None:
    """Used share per pool and month = Σ reserved allocation / reserved instances (plan tables)."""
    plan, _, path = small_trial
    fr = read_focus(path)
    u = a.utilisation(fr)
    al = plan.allocation[plan.allocation["market"] == "reserved"]
    used = al.groupby(["provider", "region", "instance_type", "period_index"])["instances"].sum()
    cap = plan.capacity.set_index(["provider", "region", "instance_type", "period_index"])
    share = (used / cap["reserved_instances"]).fillna(0.0).clip(0, 1)
    starts = pd.to_datetime(pd.Series(plan.meta["period_starts"]))
    for r in u.itertuples():
        _, prov, region, itype, _ = r.commitment_id.split(":")
        t = int(
            np.searchsorted(starts.to_numpy(), np.datetime64(r.month + "-01"), side="right") - 1
        )
        want = share.get((prov, region, itype, t), 0.0)
        assert r.utilisation == pytest.approx(want, abs=1e-9), r


def test_simulate_focus_out_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hyperplan.cli import app

    root = Path(__file__).resolve().parents[1]
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "simulate",
            str(root / "examples" / "small.yaml"),
            "--trials",
            "2",
            "--workers",
            "1",
            "--focus-out",
            str(tmp_path / "bills"),
        ],
    )
    assert res.exit_code == 0, res.output
    (written,) = (tmp_path / "bills").glob("*.csv")
    rep = runner.invoke(app, ["actuals", "report", str(tmp_path / "bills"), "--json"])
    assert rep.exit_code == 0, rep.output
    import json

    data = json.loads(rep.stdout)
    assert data["rows"] == read_focus(written).rows
    assert {"spend", "utilisation", "coverage"} <= set(data["tables"])
    # against the plan: every USD of the bill lands in plan vs actual
    plan_json = tmp_path / "plan.json"
    res = runner.invoke(app, ["plan", str(root / "examples" / "small.yaml"), "-o", str(plan_json)])
    assert res.exit_code == 0, res.output
    rep = runner.invoke(
        app, ["actuals", "report", str(tmp_path / "bills"), "--plan", str(plan_json), "--json"]
    )
    assert rep.exit_code == 0, rep.output
    tables = json.loads(rep.stdout)["tables"]
    spend = sum(r["effective_usd"] for r in tables["spend"]["rows"])
    pva = sum(r["actual_usd"] for r in tables["plan_vs_actual"]["rows"])
    assert pva == pytest.approx(spend, abs=0.005)
    assert sum(r["plan_usd"] for r in tables["plan_vs_actual"]["rows"]) > 0
    text = runner.invoke(
        app, ["actuals", "report", str(tmp_path / "bills"), "--plan", str(plan_json)]
    )
    assert text.exit_code == 0 and "Plan vs actual" in text.stdout


def test_actuals_report_bad_input_exits_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hyperplan.cli import app

    bad = _write(tmp_path, "bad.csv", HEADER + "2026-01-01T00:00:00Z,Usage,x,1,AWS,Standard\n")
    res = CliRunner().invoke(app, ["actuals", "report", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}:2" in res.output and "BilledCost" in res.output


# --- the FinOps Foundation's validator ------------------------------------------------------------
VALIDATOR_DEFECTS = {
    "InvoiceIssuer_Required": "checks InvoiceIssuer, the pre-1.0 name (FOCUS 1.0: InvoiceIssuerName)",
    "Provider_Required": "checks Provider, the pre-1.0 name (FOCUS 1.0: ProviderName)",
    "Publisher_Required": "checks Publisher, the pre-1.0 name (FOCUS 1.0: PublisherName)",
    "ResourceID_Required": "checks ResourceID, the pre-1.0 name (FOCUS 1.0: ResourceId)",
    "SkuPriceId_Nullable": "its SQL reads ChargeType, the 0.5 name of ChargeCategory (KeyError)",
    "BillingCurrency_IsCurrencyCode": "fails inside the validator (FileNotFoundError) on any value",
}
"""Rules of focus-validator 1.0.0's "1.0" set that no FOCUS 1.0 file can pass (read in its YAML)."""


def _validator() -> Path:
    """focus-validator 1.0.0 in its own venv (it pins numpy<2), built once under the cache."""
    import os
    import subprocess
    import sys

    cache = Path(os.environ.get("HYPERPLAN_CACHE", Path.home() / ".cache" / "hyperplan"))
    venv = cache / "focus-validator-1.0.0"
    exe = venv / "bin" / "focus-validator"
    if exe.exists():
        return exe
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "focus-validator==1.0.0",
             "multimethod<1.10"],  # pandera 0.17 imports multimethod.overload (gone in 1.10+)
            check=True, timeout=900, capture_output=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(venv, ignore_errors=True)
        pytest.skip(f"cannot build the focus-validator venv under {cache}: {exc}")
    return exe


def _validate(exe: Path, path: Path) -> set[str]:
    import re
    import subprocess

    proc = subprocess.run(
        [str(exe), "--data-file", str(path), "--validate-version", "1.0"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out[-3000:]
    return set(re.findall(r"^(\S+) failed:", out, flags=re.M))


@pytest.mark.slow
def test_focus_validator_accepts_the_simulated_export(small_trial, tmp_path: Path) -> None:
    """The export passes every rule of the validator's FOCUS 1.0 set except its own defects;
    a row with a PricingCategory outside the 1.0 enum is caught (the check can fail)."""
    _, _, path = small_trial
    exe = _validator()
    assert _validate(exe, path) <= set(VALIDATOR_DEFECTS)
    bad = tmp_path / "bad.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[0, "PricingCategory"] = "Bogus"
    df.to_csv(bad, index=False)
    assert _validate(exe, bad) - set(VALIDATOR_DEFECTS) == {"PricingCategory_Enum_1.0"}


# --- contract burn-down ----------------------------------------------------------------------------
def test_burndown_run_rate_forecast_by_hand(tmp_path: Path) -> None:
    """aws bills 100, 120, 80 USD in Jan-Mar 2027 against 1,200 USD committed over 2027.

    By hand: consumed 300; as of 2027-04-01, n = 3 months, x̄ = 100, s = 20; months left
    k = 275 days / 30.4375 = 9.03491; P50 = 300 + 903.491 = 1,203.49 (no P50 shortfall);
    spread t(0.9, 2) = 1.88562 × 20 × √(k + k²/3) = 1.88562 × 20 × 6.02039 = 227.04;
    P10 = 976.45, P90 = 1,430.53; shortfall at P10 = 1,200 − 976.45 = 223.55 USD.
    """
    body = HEADER + "".join(
        f"2027-{m:02d}-15T00:00:00Z,Usage,{usd},{usd},AWS,Standard\n"
        for m, usd in ((1, 100), (2, 120), (3, 80))
    )
    fr = read_focus(_write(tmp_path, "b.csv", body))
    c = _write(
        tmp_path,
        "c.yaml",
        "contracts:\n  - {name: aws-ea, provider: aws, committed_usd: 1200, start: 2027-01-01,"
        " end: 2028-01-01}\n",
    )
    bd = _one(a.burndown(fr, load_contracts(c)))
    assert bd["as_of"] == "2027-04-01" and bd["months_observed"] == 3
    assert bd["consumed_usd"] == pytest.approx(300.0)
    assert bd["months_left"] == pytest.approx(275 / 30.4375)
    assert bd["forecast_p50_usd"] == pytest.approx(1203.49, abs=0.01)
    assert bd["forecast_p10_usd"] == pytest.approx(976.45, abs=0.01)
    assert bd["forecast_p90_usd"] == pytest.approx(1430.53, abs=0.01)
    assert bd["shortfall_p50_usd"] == 0.0
    assert bd["shortfall_p10_usd"] == pytest.approx(223.55, abs=0.01)
    assert bd["basis"].startswith("EffectiveCost of aws")


def test_contracts_file_errors_are_located(tmp_path: Path) -> None:
    c = _write(
        tmp_path,
        "c.csv",
        "name,provider,committed_usd,start,end\nok,aws,10,2027-01-01,2028-01-01\n"
        "bad,aws,lots,2027-01-01,2028-01-01\nrev,aws,5,2028-01-01,2027-01-01\n",
    )
    with pytest.raises(InputError) as exc:
        load_contracts(c)
    probs = exc.value.problems
    assert [(p.line, p.path) for p in probs] == [
        (3, "contracts[1].committed_usd"),
        (4, "contracts[2].start"),
    ]
