"""Smoke runs of the benchmark scripts (``--quick``): they run, exit 0 and write their JSON.

The benchmarks themselves are not tests (bench/README.md). linopy and Pyomo are bench
dependencies, not test dependencies: their parts of bench/model_build.py are skipped, with the
reason, when they are not installed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
ANCHORS = ("linopy", "pyomo")


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _run(script: str, out: Path, *extra: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert out.exists(), f"{script} wrote no JSON"
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def model_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tools = ["hyperplan", *(t for t in ANCHORS if _have(t))]
    out = tmp_path_factory.mktemp("bench") / "model_build.json"
    return _run("model_build.py", out, "--tools", *tools)


def test_model_build_hyperplan(model_build: dict[str, Any]) -> None:
    row = model_build["rows"][0]
    assert row["hyperplan"]["build_s"] > 0
    assert row["hyperplan"]["columns"] == row["columns"] > 0
    assert "machine" in model_build


@pytest.mark.parametrize("tool", ANCHORS)
def test_model_build_anchor(model_build: dict[str, Any], tool: str) -> None:
    if not _have(tool):
        pytest.skip(
            f"{tool} is not installed (a bench dependency, not a test one: pip install {tool})"
        )
    res = model_build["rows"][0][tool]
    assert "error" not in res, res
    assert res["same_model"], res.get("fingerprint_diffs")
    assert res["objective_matches"]


def test_highs_alone(tmp_path: Path) -> None:
    data = _run("highs_alone.py", tmp_path / "highs_alone.json")
    row = data["overhead"][0]
    assert row["objective_matches"]
    assert row["ratio"] > 0
    assert data["settings"][0]["best"] is not None


def test_plan_scale(tmp_path: Path) -> None:
    data = _run("plan_scale.py", tmp_path / "plan_scale.json")
    assert {r["vary"] for r in data["sweep"]["rows"]} >= {"providers", "periods", "outages"}
    assert data["sweep"]["elasticity"]
    assert data["ladder"][0]["solve_s"] >= 0


def test_greedy_quality(tmp_path: Path) -> None:
    data = _run("greedy_quality.py", tmp_path / "greedy_quality.json")
    strategies = {(r["case"], r["strategy"]) for r in data["rows"]}
    assert ("quick-tight", "greedy") in strategies
    assert ("quick-tight", "multi") in strategies
    for r in data["rows"]:
        assert r["total_usd"] > 0


def test_actuals_import(tmp_path: Path) -> None:
    data = _run("actuals_import.py", tmp_path / "actuals_import.json")
    assert data["rows"] == 100_000
    assert data["hyperplan"]["rows"] == data["pandas"]["rows"] == 100_000
    assert data["answers_agree"]  # the DuckDB route and the pandas route find the same sums
    assert data["hyperplan"]["peak_rss_mb"] > 0 and data["speedup"] > 0
