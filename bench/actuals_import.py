"""FOCUS import speed: hyperplan.actuals (DuckDB) against pandas read_csv + groupby.

Generates an N-row FOCUS cost-and-usage CSV (default 10 million rows; ``--quick``: 100,000),
then, each in its own process (so peak memory is that route's alone):

- hyperplan: ``read_focus`` (typing, validation, mapping to providers/offers/markets/GPU-hours)
  + utilisation, coverage and spend answers;
- pandas: ``read_csv`` of the columns the answers need + the same groupbys (utilisation per
  commitment and month, coverage per provider and month, spend per provider and category);

and reports wall time, peak RSS and the ratio. Writes bench/results/actuals_import.json.

    python bench/actuals_import.py [--rows N] [--quick] [--keep FILE] [--out JSON]

Targets (issue 16): hyperplan under 60 s and under 2 GB on this 2-core machine, and at least 5x
faster than the pandas route.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "actuals_import.json"


def generate(path: Path, rows: int) -> float:
    """Write ``rows`` FOCUS rows to ``path`` with DuckDB (SQL, no Python loop); seconds taken."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
          WITH r AS (SELECT i, hash(i) AS h FROM range({int(rows)}) t(i))
          SELECT
            ['AWS', 'Microsoft', 'Google Cloud', 'Oracle'][1 + (i % 4)::INT] AS ProviderName,
            ['us-east-1', 'eastus', 'us-central1', 'us-ashburn-1'][1 + (i % 4)::INT] AS RegionId,
            strftime(TIMESTAMP '2026-01-01' + INTERVAL (i % 8760) HOUR, '%Y-%m-%dT%H:%M:%SZ')
                AS ChargePeriodStart,
            strftime(TIMESTAMP '2026-01-01' + INTERVAL (i % 8760 + 1) HOUR, '%Y-%m-%dT%H:%M:%SZ')
                AS ChargePeriodEnd,
            CASE WHEN h % 50 = 0 THEN 'Purchase' ELSE 'Usage' END AS ChargeCategory,
            CASE WHEN h % 50 = 0 THEN 'Recurring' ELSE 'Usage-Based' END AS ChargeFrequency,
            ['Standard', 'Committed', 'Committed', 'Dynamic'][1 + ((h >> 8) % 4)::INT]
                AS PricingCategory,
            round(((h >> 16) % 10000) / 100.0, 6) AS BilledCost,
            round(((h >> 16) % 10000) / 100.0 * 0.8, 6) AS EffectiveCost,
            round(((h >> 16) % 10000) / 100.0 * 1.1, 6) AS ListCost,
            round(((h >> 32) % 100) / 10.0, 4) AS ConsumedQuantity,
            'Hours' AS ConsumedUnit,
            ['p5.48xlarge', 'Standard_ND96isr_H100_v5', 'a3-highgpu-8g', 'BM.GPU.H100.8'][1 + (i % 4)::INT]
                AS SkuId,
            CASE WHEN ((h >> 8) % 4) IN (1, 2) THEN 'cd-' || (h % 500) END AS CommitmentDiscountId,
            CASE WHEN ((h >> 8) % 4) IN (1, 2) THEN
                CASE WHEN (h >> 40) % 100 < 85 THEN 'Used' ELSE 'Unused' END END
                AS CommitmentDiscountStatus,
            'USD' AS BillingCurrency,
            'res-' || (i % 100000) AS ResourceId,
            'team-' || (h % 17) AS x_Team
          FROM r
        ) TO '{path}' (HEADER, DELIMITER ',')
        """
    )
    con.close()
    return time.perf_counter() - t0


def run_hyperplan(path: str) -> dict[str, float]:
    from hyperplan.actuals import answers as a
    from hyperplan.actuals import read_focus

    t0 = time.perf_counter()
    fr = read_focus(path)
    t1 = time.perf_counter()
    u = a.utilisation(fr)
    c = a.coverage(fr)
    s = a.spend_summary(fr)
    t2 = time.perf_counter()
    return {
        "read_s": t1 - t0,
        "answer_s": t2 - t1,
        "total_s": t2 - t0,
        "rows": fr.rows,
        "effective_usd": float(s["effective_usd"].sum()),
        "used_usd": float(u["used_usd"].sum()),
        "covered_usd": float(c["covered_usd"].sum()),
    }


def run_pandas(path: str) -> dict[str, float]:
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_csv(
        path,
        usecols=[
            "ProviderName",
            "ChargePeriodStart",
            "ChargeCategory",
            "PricingCategory",
            "BilledCost",
            "EffectiveCost",
            "CommitmentDiscountId",
            "CommitmentDiscountStatus",
        ],
        keep_default_na=True,
        na_values=["null"],
    )
    t1 = time.perf_counter()
    df["month"] = df["ChargePeriodStart"].str.slice(0, 7)
    usage = df[df["ChargeCategory"] == "Usage"]
    cd = usage[usage["CommitmentDiscountId"].notna()]
    u = cd.pivot_table(
        index=["CommitmentDiscountId", "ProviderName", "month"],
        columns="CommitmentDiscountStatus",
        values="EffectiveCost",
        aggfunc="sum",
        fill_value=0.0,
    )
    covered = (
        usage[usage["CommitmentDiscountStatus"] == "Used"]
        .groupby(["ProviderName", "month"])["EffectiveCost"]
        .sum()
    )
    od = usage[(usage["PricingCategory"] == "Standard") & usage["CommitmentDiscountId"].isna()]
    od.groupby(["ProviderName", "month"])["EffectiveCost"].sum()
    s = df.groupby(["ProviderName", "ChargeCategory"])[["BilledCost", "EffectiveCost"]].sum()
    t2 = time.perf_counter()
    return {
        "read_s": t1 - t0,
        "answer_s": t2 - t1,
        "total_s": t2 - t0,
        "rows": len(df),
        "effective_usd": float(s["EffectiveCost"].sum()),
        "used_usd": float(u.get("Used", pd.Series(dtype=float)).sum()),
        "covered_usd": float(covered.sum()),
    }


def worker(route: str, path: str) -> None:
    res = run_hyperplan(path) if route == "hyperplan" else run_pandas(path)
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(res))


def measure(route: str, path: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", route, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{route} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 rows (smoke test)")
    ap.add_argument("--keep", type=Path, help="keep the generated CSV at this path")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--worker", nargs=2, metavar=("ROUTE", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    rows = 100_000 if args.quick else int(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "focus.csv"
        gen_s = generate(path, rows)
        size_mb = path.stat().st_size / 1024**2
        print(f"generated {rows:,} rows ({size_mb:,.0f} MB) in {gen_s:.1f} s", flush=True)
        hp = measure("hyperplan", path)
        print(f"hyperplan: {hp['total_s']:.1f} s, peak {hp['peak_rss_mb']:,.0f} MB", flush=True)
        pdr = measure("pandas", path)
        print(f"pandas:    {pdr['total_s']:.1f} s, peak {pdr['peak_rss_mb']:,.0f} MB", flush=True)
    same = all(
        abs(hp[k] - pdr[k]) <= 1e-6 * max(1.0, abs(pdr[k]))
        for k in ("effective_usd", "used_usd", "covered_usd")
    )
    ratio = pdr["total_s"] / hp["total_s"] if hp["total_s"] > 0 else float("nan")
    print(f"speed-up {ratio:.1f}x; answers agree: {same}")
    data = {
        "rows": rows,
        "file_mb": size_mb,
        "generate_s": gen_s,
        "hyperplan": hp,
        "pandas": pdr,
        "speedup": ratio,
        "answers_agree": same,
        "targets": {"seconds": 60, "peak_mb": 2048, "speedup": 5},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
