"""Helpers shared by the benchmark scripts: cases, timing, memory, subprocess workers, tables.

Not part of hyperplan: the scripts in bench/ import it as ``common`` (they run as
``python bench/NAME.py``, so bench/ is on ``sys.path``).
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
FRONTIER = ROOT / "examples" / "frontier-2030.yaml"

#: synthetic cases: (providers, regions, offers per region, workloads, monthly periods).
#: xs .. xl are bench/plan_scale.py's historical sizes; the others fill the 10k .. 3M ladder.
CASES: dict[str, tuple[int, int, int, int, int]] = {
    "xs": (2, 2, 2, 3, 6),
    "s": (3, 2, 4, 6, 12),
    "s+": (3, 3, 4, 6, 24),
    "m": (4, 3, 6, 12, 24),
    "m+": (4, 4, 8, 12, 36),
    "l": (5, 4, 8, 18, 36),
    "xl": (6, 4, 10, 24, 36),
    "xxl": (8, 4, 10, 30, 48),
}
DIM_NAMES = ("providers", "regions", "offers_per_region", "workloads", "periods")


# ------------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------------
def synthetic(dims: Sequence[int], *, outages: bool = True, seed: int = 1) -> tuple[Any, Any]:
    """(scenario, catalog) of a synthetic case with the given dimensions."""
    from hyperplan.synthetic import synthetic_catalog, synthetic_scenario

    providers, regions, offers, workloads, periods = dims
    catalog = synthetic_catalog(providers, regions, offers, seed=seed)
    scenario = synthetic_scenario(providers, workloads, periods, outages=outages, seed=seed)
    return scenario, catalog


def frontier() -> tuple[Any, Any]:
    """(scenario, catalog) of examples/frontier-2030.yaml."""
    from hyperplan.plan.api import _scenario_catalog
    from hyperplan.scenario.load import load_scenario

    scenario = load_scenario(FRONTIER)
    return scenario, _scenario_catalog(scenario)


def case(name: str, *, outages: bool = True) -> tuple[Any, Any]:
    """(scenario, catalog) of a named case: a key of :data:`CASES` or ``frontier-2030``."""
    if name == "frontier-2030":
        return frontier()
    return synthetic(CASES[name], outages=outages)


def dims_dict(dims: Sequence[int]) -> dict[str, int]:
    return dict(zip(DIM_NAMES, (int(d) for d in dims), strict=True))


# ------------------------------------------------------------------------------------------------
# Machine, timing, memory
# ------------------------------------------------------------------------------------------------
def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """The machine and software the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = float("nan")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = int(line.split()[1]) / 1024**2
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "ram_gb": round(ram_gb, 1),
        "python": sys.version.split()[0],
        "load_average_at_start": os.getloadavg(),
        "versions": {
            p: _version(p)
            for p in ("hyperplan", "highspy", "numpy", "scipy", "pandas", "linopy", "pyomo")
        },
    }


def best_of(fn: Callable[[], Any], repeats: int = 3) -> tuple[float, list[float], Any]:
    """Run ``fn`` ``repeats`` times; (best seconds, every time, last result)."""
    times: list[float] = []
    result: Any = None
    for _ in range(max(1, repeats)):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


def _status_kb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the process's peak RSS (Linux ≥ 4.0: ``clear_refs`` 5); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def rss_mb() -> float:
    """Current resident set size, MB."""
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else float("nan")


def peak_rss_mb() -> float:
    """Peak resident set size since start or the last :func:`reset_peak_rss`, MB."""
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


class PeakMemory:
    """Peak RSS above the RSS at entry, MB, of what runs inside the ``with`` block."""

    def __enter__(self) -> PeakMemory:
        gc.collect()
        self.clean = reset_peak_rss()
        self.start = rss_mb()
        self.delta_mb = float("nan")
        self.peak_mb = float("nan")
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_mb = peak_rss_mb()
        self.delta_mb = self.peak_mb - self.start


# ------------------------------------------------------------------------------------------------
# Subprocess workers: a fresh interpreter per measurement, result as JSON on the last stdout line
# ------------------------------------------------------------------------------------------------
WORKER_TAG = "@@RESULT@@ "


def emit(result: dict[str, Any]) -> None:
    """Print a worker's result for :func:`run_worker`."""
    print(WORKER_TAG + json.dumps(result, default=_json_default), flush=True)


def run_worker(script: Path, args: Sequence[str], timeout: float | None = None) -> dict[str, Any]:
    """Run ``python script args`` in a fresh interpreter; its :func:`emit` result.

    On a timeout or a crash: ``{"error": ...}`` (the caller records it and moves on).
    """
    cmd = [sys.executable, str(script), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(WORKER_TAG):
            return json.loads(line[len(WORKER_TAG) :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


# ------------------------------------------------------------------------------------------------
# HiGHS model fingerprint: the model a tool handed to HiGHS, independent of row/column order
# ------------------------------------------------------------------------------------------------
def highs_fingerprint(h: Any) -> dict[str, Any]:
    """Sizes and order-free summaries of the LP held by a ``highspy.Highs``.

    Two models with the same rows, columns and coefficients (in any order) have the same
    fingerprint: sorted costs, bounds, row bounds, nonzero values, and the sorted nonzero counts
    per row and per column.
    """
    lp = h.getLp()
    n, m = int(lp.num_col_), int(lp.num_row_)
    a = lp.a_matrix_
    start = np.asarray(a.start_, dtype=np.int64)
    index = np.asarray(a.index_, dtype=np.int64)
    value = np.asarray(a.value_, dtype=float)
    keep = value != 0
    colwise = a.format_ == type(a.format_).kColwise
    outer = np.repeat(np.arange(len(start) - 1), np.diff(start))
    rows, cols = (index, outer) if colwise else (outer, index)
    rows, cols, value = rows[keep], cols[keep], value[keep]
    integrality = np.asarray(lp.integrality_, dtype=float) if len(lp.integrality_) else np.zeros(0)
    return {
        "columns": n,
        "rows": m,
        "nonzeros": len(value),
        "integers": int((integrality > 0).sum()),
        "cost": np.sort(np.asarray(lp.col_cost_)),
        "col_lower": np.sort(np.asarray(lp.col_lower_)),
        "col_upper": np.sort(np.asarray(lp.col_upper_)),
        "row_lower": np.sort(np.asarray(lp.row_lower_)),
        "row_upper": np.sort(np.asarray(lp.row_upper_)),
        "values": np.sort(value),
        "row_counts": np.sort(np.bincount(rows, minlength=m)),
        "col_counts": np.sort(np.bincount(cols, minlength=n)),
    }


def same_fingerprint(a: dict[str, Any], b: dict[str, Any], rtol: float = 1e-9) -> list[str]:
    """The fields in which two fingerprints differ (empty: the same model up to order)."""
    diffs = []
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray):
            if x.shape != y.shape:
                diffs.append(f"{key} ({len(x)} vs {len(y)})")
            elif x.dtype.kind == "f":
                if not np.allclose(x, y, rtol=rtol, atol=1e-12, equal_nan=True):
                    diffs.append(key)
            elif not np.array_equal(x, y):
                diffs.append(key)
        elif x != y:
            diffs.append(f"{key} ({x} vs {y})")
    return diffs


# ------------------------------------------------------------------------------------------------
# Tables and results
# ------------------------------------------------------------------------------------------------
def fmt(value: Any, spec: str = "") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    """A plain-text table: ``columns`` = (key, header, format spec)."""
    cells = [[h for _, h, _ in columns]]
    for r in rows:
        cells.append([fmt(r.get(k), spec) for k, _, spec in columns])
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value))


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if np.isfinite(v) else None
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_results(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    """Write ``bench/results/<name>.json`` (or ``out``) with the machine description."""
    path = out or (RESULTS / f"{name}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine(), "written": time.strftime("%Y-%m-%d %H:%M:%S"), **payload}
    path.write_text(json.dumps(_clean(data), indent=1, default=_json_default) + "\n")
    return path


def have(module: str) -> bool:
    """True when ``module`` can be imported."""
    import importlib.util

    return importlib.util.find_spec(module) is not None
