"""FOCUS import speed: hyperplan.actuals (DuckDB) against pandas read_csv + groupby.

Generates an N-row FOCUS cost-and-usage CSV (default 10 million rows; ``--quick``: 100,000),
then, each in its own process (so peak memory is that route's alone):

- hyperplan: ``read_focus`` (typing, validation, mapping to providers/offers/markets/GPU-hours)
  + utilisation, coverage and spend answers;
- hyperplan on Parquet (``--parquet``): the same rows written as a typed Parquet file
  (costs DOUBLE, periods TIMESTAMP), ``read_focus`` + answers;
- hyperplan import (``--ledger``): ``hyperplan.actuals.store.import_files`` into a new SQLite
  ledger: SHA-256 of the file, the same read, the groups stored (what ``actuals import`` does);
- pandas, the anchor: ``read_csv`` (C engine) of the 8 columns the answers need with their
  dtypes given (the text keys ``category``, the costs ``float64``; no type inference) + the same
  groupbys on the categoricals (``observed=True``): utilisation per commitment and month,
  coverage per provider and month, spend per provider and category;
- pandas with ``engine="pyarrow"`` (multi-threaded CSV parse), the same otherwise, when pyarrow
  can be imported by this interpreter or by ``--pandas-python`` (e.g. a venv that has it, so
  the project's environment need not).

and reports wall time, CPU time (all threads), peak RSS and the ratios. Writes
bench/results/actuals_import.json (with the load average before and after).

    python bench/actuals_import.py [--rows N] [--quick] [--ledger] [--parquet]
                                   [--pandas-python PY] [--keep FILE] [--out JSON]

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
    con.execute("SET enable_progress_bar=false")
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


def to_parquet(path: Path) -> Path:
    """The CSV at ``path`` as a Parquet file beside it, typed as exports store it (costs DOUBLE,
    periods TIMESTAMP, the rest text); not timed."""
    import duckdb

    out = path.with_suffix(".parquet")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar=false")
    types = ", ".join(
        f"'{c}': '{t}'"
        for c, t in {
            "ChargePeriodStart": "TIMESTAMP",
            "ChargePeriodEnd": "TIMESTAMP",
            "BilledCost": "DOUBLE",
            "EffectiveCost": "DOUBLE",
            "ListCost": "DOUBLE",
            "ConsumedQuantity": "DOUBLE",
        }.items()
    )
    con.execute(
        f"COPY (SELECT * FROM read_csv('{path}', header=true, all_varchar=true, "
        f"types={{{types}}}, timestampformat='%Y-%m-%dT%H:%M:%SZ')) TO '{out}'"
    )
    con.close()
    return out


def run_hyperplan(path: str) -> dict[str, float]:
    from hyperplan.actuals import answers as a
    from hyperplan.actuals import read_focus

    t0, c0 = time.perf_counter(), time.process_time()
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
        "cpu_s": time.process_time() - c0,
        "rows": fr.rows,
        "effective_usd": float(s["effective_usd"].sum()),
        "used_usd": float(u["used_usd"].sum()),
        "covered_usd": float(c["covered_usd"].sum()),
    }


def run_import(path: str) -> dict[str, float]:
    """``import_files`` into a new SQLite ledger beside the file: hash, read, store."""
    import hyperplan.actuals.store as store
    from hyperplan.ledger.db import open_ledger

    db = Path(path).with_suffix(".ledger.sqlite")
    db.unlink(missing_ok=True)
    ledger = open_ledger(f"sqlite:///{db}")
    t0, c0 = time.perf_counter(), time.process_time()
    res = store.import_files([path], ledger, workspace="bench", author="bench")
    t1 = time.perf_counter()
    ledger.dispose()
    db.unlink(missing_ok=True)
    return {
        "total_s": t1 - t0,
        "cpu_s": time.process_time() - c0,
        "rows": res.stored[0]["rows"],
        "groups": res.stored[0]["groups"],
    }


KEYS = ("ProviderName", "ChargeCategory", "PricingCategory", "CommitmentDiscountId")
"""Text columns the pandas route groups by (read as ``category``)."""


def run_pandas(path: str, engine: str = "c") -> dict[str, float]:
    """The pandas route: typed ``read_csv`` of the 8 columns, groupbys on categoricals."""
    import pandas as pd

    t0, c0 = time.perf_counter(), time.process_time()
    df = pd.read_csv(
        path,
        engine=engine,
        usecols=[
            *KEYS,
            "ChargePeriodStart",
            "BilledCost",
            "EffectiveCost",
            "CommitmentDiscountStatus",
        ],
        dtype={
            **{c: "category" for c in KEYS},
            "ChargePeriodStart": "category",  # 8,760 hours: the month is cut from the categories
            "CommitmentDiscountStatus": "category",
            "BilledCost": "float64",
            "EffectiveCost": "float64",
        },
        keep_default_na=True,
        na_values=["null"],
    )
    t1 = time.perf_counter()
    start = df["ChargePeriodStart"].cat
    cats = start.categories  # once per distinct hour, not per row
    # the pyarrow engine parses the ISO times itself (datetime categories); the C engine not
    dated = pd.api.types.is_datetime64_any_dtype(cats)
    months = cats.strftime("%Y-%m") if dated else cats.str.slice(0, 7)
    df["month"] = pd.Categorical(months[start.codes], categories=months.unique())
    usage = df[df["ChargeCategory"] == "Usage"]
    cd = usage[usage["CommitmentDiscountId"].notna()]
    u = (
        cd.groupby(
            ["CommitmentDiscountId", "ProviderName", "month", "CommitmentDiscountStatus"],
            observed=True,
        )["EffectiveCost"]
        .sum()
        .unstack(fill_value=0.0)
    )
    covered = (
        usage[usage["CommitmentDiscountStatus"] == "Used"]
        .groupby(["ProviderName", "month"], observed=True)["EffectiveCost"]
        .sum()
    )
    od = usage[(usage["PricingCategory"] == "Standard") & usage["CommitmentDiscountId"].isna()]
    od.groupby(["ProviderName", "month"], observed=True)["EffectiveCost"].sum()
    s = df.groupby(["ProviderName", "ChargeCategory"], observed=True)[
        ["BilledCost", "EffectiveCost"]
    ].sum()
    t2 = time.perf_counter()
    return {
        "read_s": t1 - t0,
        "answer_s": t2 - t1,
        "total_s": t2 - t0,
        "cpu_s": time.process_time() - c0,
        "rows": len(df),
        "engine": engine,
        "effective_usd": float(s["EffectiveCost"].sum()),
        "used_usd": float(u.get("Used", pd.Series(dtype=float)).sum()),
        "covered_usd": float(covered.sum()),
    }


def worker(route: str, path: str) -> None:
    if route == "hyperplan":
        res = run_hyperplan(path)
    elif route == "import":
        res = run_import(path)
    else:
        res = run_pandas(path, "pyarrow" if route == "pandas-pyarrow" else "c")
    # cpu_s: process CPU time (every thread) over the timed part, imports not included
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(res))


def measure(route: str, path: Path, python: str | None = None) -> dict[str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    proc = subprocess.run(
        [python or sys.executable, __file__, "--worker", route, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{route} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def has_pyarrow(python: str) -> bool:
    """Whether ``python`` can import pyarrow (pandas' pyarrow engine needs it)."""
    code = "import importlib.util, sys; sys.exit(importlib.util.find_spec('pyarrow') is None)"
    return subprocess.run([python, "-c", code], check=False).returncode == 0


def _line(name: str, r: dict[str, float]) -> str:
    return (
        f"{name:<19} {r['total_s']:7.1f} s wall, {r['cpu_s']:7.1f} s CPU, "
        f"peak {r['peak_rss_mb']:,.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 rows (smoke test)")
    ap.add_argument("--keep", type=Path, help="keep the generated CSV at this path")
    ap.add_argument(
        "--ledger", action="store_true", help="also time import_files into a SQLite ledger"
    )
    ap.add_argument(
        "--parquet",
        action="store_true",
        help="also time read_focus on the same rows as a typed Parquet file",
    )
    ap.add_argument(
        "--pandas-python",
        help="interpreter for the pandas pyarrow-engine route (one that can import pyarrow)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--worker", nargs=2, metavar=("ROUTE", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    rows = 100_000 if args.quick else int(args.rows)
    load_before = os.getloadavg()
    pyarrow_python = args.pandas_python or sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "focus.csv"
        gen_s = generate(path, rows)
        size_mb = path.stat().st_size / 1024**2
        print(f"generated {rows:,} rows ({size_mb:,.0f} MB) in {gen_s:.1f} s", flush=True)
        hp = measure("hyperplan", path)
        print(_line("hyperplan", hp), flush=True)
        imp = None
        if args.ledger:
            imp = measure("import", path)
            print(
                f"{'import (SQLite)':<19} {imp['total_s']:7.1f} s wall, {imp['cpu_s']:7.1f} s CPU, "
                f"peak {imp['peak_rss_mb']:,.0f} MB, {imp['groups']:,} groups",
                flush=True,
            )
        pq = None
        if args.parquet:
            pq_path = to_parquet(path)
            pq = measure("hyperplan", pq_path)
            print(_line("hyperplan (parquet)", pq), flush=True)
            pq_path.unlink()
        pdr = measure("pandas", path)
        print(_line("pandas (C)", pdr), flush=True)
        pa = None
        if has_pyarrow(pyarrow_python):
            pa = measure("pandas-pyarrow", path, pyarrow_python)
            print(_line("pandas (pyarrow)", pa), flush=True)
        else:
            print("pandas (pyarrow): skipped, pyarrow not importable (see --pandas-python)")
    load_after = os.getloadavg()
    keys = ("effective_usd", "used_usd", "covered_usd")
    same = all(
        abs(hp[k] - r[k]) <= 1e-6 * max(1.0, abs(r[k])) for r in (pdr, pa, pq) if r for k in keys
    )
    ratio = pdr["total_s"] / hp["total_s"] if hp["total_s"] > 0 else float("nan")
    cpu_ratio = pdr["cpu_s"] / hp["cpu_s"] if hp["cpu_s"] > 0 else float("nan")
    print(f"speed-up vs pandas (C): {ratio:.1f}x wall, {cpu_ratio:.1f}x CPU; answers agree: {same}")
    pa_ratio = None
    if pa:
        pa_ratio = pa["total_s"] / hp["total_s"] if hp["total_s"] > 0 else float("nan")
        print(f"speed-up vs pandas (pyarrow): {pa_ratio:.1f}x wall")
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (1 min)")
    data = {
        "rows": rows,
        "file_mb": size_mb,
        "generate_s": gen_s,
        "hyperplan": hp,
        "import": imp,
        "hyperplan_parquet": pq,
        "pandas": pdr,
        "pandas_pyarrow": pa,
        "speedup": ratio,
        "speedup_cpu": cpu_ratio,
        "speedup_vs_pyarrow": pa_ratio,
        "answers_agree": same,
        "targets": {"seconds": 60, "peak_mb": 2048, "speedup": 5},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
