"""The CLI as a user meets it: real subprocesses for exit codes, CliRunner for content."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hyperplan.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
runner = CliRunner()

SMALL = """\
name: tiny
horizon: {start: 2027-01-01, period: quarter, periods: 4}
providers: {aws: {}, nebius: {}}
offers: {accelerators: [H100]}
workloads:
  - name: chat
    kind: inference
    demand_tokens_per_s: 100000
    perf_tokens_per_s: {H100: 3000}
policies: {max_share: 0.8}
"""


def hyperplan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hyperplan.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert "hyperplan 0.1.0" in result.output


def test_catalog_h100_lists_priced_rows_from_four_providers() -> None:
    result = runner.invoke(app, ["catalog", "--accelerator", "H100"])
    assert result.exit_code == 0, result.output
    providers = {
        p for p in ("aws", "azure", "gcp", "oci", "lambda", "nebius") if p in result.output
    }
    assert len(providers) >= 4, providers
    assert "6.88" in result.output  # aws p5.48xlarge: 55.04 USD/h / 8 GPUs


def test_catalog_unknown_accelerator_exits_2_with_suggestion() -> None:
    result = hyperplan("catalog", "--accelerator", "H10")
    assert result.returncode == 2
    assert "H100" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_frontier_succeeds_and_summarises() -> None:
    result = hyperplan("validate", str(EXAMPLES / "frontier-2030.yaml"))
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout
    for word in ("azure", "oci", "aws", "chat-global", "agents", "Contract"):
        assert word in result.stdout


def test_validate_broken_file_prints_located_error_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("demand_tokens_per_s: 100000", "demand_tokens_per_s: -5"))
    result = hyperplan("validate", str(bad))
    assert result.returncode == 2
    # line 8 holds the negative demand; the message names the field path
    assert f"{bad}:8:" in result.stderr
    assert "workloads[0].demand_tokens_per_s" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_unknown_field_did_you_mean(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("policies:", "polices:"))
    result = hyperplan("validate", str(bad))
    assert result.returncode == 2
    assert ":10:" in result.stderr and "policies" in result.stderr


def test_missing_file_exits_2() -> None:
    result = hyperplan("validate", "/nonexistent/scenario.yaml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_init_writes_a_valid_template_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "s.yaml"
    result = runner.invoke(app, ["init", "--template", "small", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text() == (EXAMPLES / "small.yaml").read_text()
    again = runner.invoke(app, ["init", "-o", str(target)])
    assert again.exit_code == 2
    assert runner.invoke(app, ["validate", str(target)]).exit_code == 0


def test_plan_writes_plan_json_that_round_trips(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SMALL)
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", str(scenario), "-o", str(out), "--walk-away"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["schema"] == "hyperplan.plan/1"
    assert data["status"] == "optimal"
    assert "Walk-away" in result.output
    from hyperplan.plan import Plan

    plan = Plan.from_json(out)
    # 100k tokens/s on 8-GPU H100 instances at 3000 tokens/s per GPU: 4.1667 instances busy
    alloc = plan.tables["allocation"]
    per_period = alloc[alloc["market"] != "spot"].groupby("period_index")["served"].sum()
    assert per_period.to_numpy() == pytest.approx([100_000] * 4)


def test_plan_failure_leaves_previous_output_intact(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    out.write_text("previous")
    bad = tmp_path / "bad.yaml"
    bad.write_text("horizon: [")
    result = runner.invoke(app, ["plan", str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_compare_prints_each_strategy(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SMALL)
    result = runner.invoke(
        app, ["compare", str(scenario), "-s", "multi", "-s", "single:aws", "-s", "greedy"]
    )
    assert result.exit_code == 0, result.output
    for name in ("multi", "single:aws", "greedy"):
        assert name in result.output


def test_compare_unknown_strategy_exits_2(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SMALL)
    result = runner.invoke(app, ["compare", str(scenario), "-s", "cheapest"])
    assert result.exit_code == 2


def test_outputs_are_written_before_a_reader_that_stops_early(tmp_path: Path) -> None:
    """`hyperplan plan x.yaml -o plan.json | head -1`: before, the summary was printed first, the
    closed pipe ended the command, and plan.json was never written. Now the outputs are written
    first; the command then stops quietly (nothing on stderr, no "internal error")."""
    out = tmp_path / "plan.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hyperplan.cli",
            "plan",
            str(ROOT / "examples" / "small.yaml"),
            "-o",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # like head -1: read one line, then close the pipe
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 1
    assert first.startswith(b"small: optimal")
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert json.loads(out.read_text())["tables"]["commitments"]
