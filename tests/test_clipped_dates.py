"""Dates the horizon clips are warned about, located, on stderr (``validate`` and ``plan``).

Expected texts are derived by hand from the scenarios below: the horizon of ``CLIPPED`` is
2027-01-01 .. 2028-01-01 (4 quarters); line and column numbers count from the first line of the
file (the value's first character).
"""

from __future__ import annotations

from pathlib import Path

from hyperplan.plan.clipped import clipped_dates
from hyperplan.scenario.load import load_scenario_text
from test_cli import hyperplan  # the CLI in a real subprocess

ROOT = Path(__file__).resolve().parents[1]

CLIPPED = """\
name: clipped
horizon: {start: 2027-01-01, period: quarter, periods: 4}
providers: {aws: {}, nebius: {}}
offers:
  accelerators: [H100]
  overrides:
    - match: {provider: nebius}
      available_from: 2029-01-01
workloads:
  - name: pretrain
    kind: training
    compute_gpu_hours: 1000
    start: 2026-07-01
    deadline: 2027-Q4
  - name: chat
    kind: inference
    demand_tokens_per_s: 10000
    perf_tokens_per_s: {H100: 3000}
contracts:
  - name: edp
    provider: aws
    committed_usd: 2000000
    start: 2026-01-01
    end: 2028-01-01
reservations:
  - provider: aws
    region: us-east-1
    instance_type: p5.48xlarge
    instances: 1
    start: 2027-04-01
    end: 2029-04-01
"""

#: one line each, in file order: available_from (line 8), the training start (line 13), the
#: contract start (line 23); the deadline 2027-Q4 = 2027-10-01 and the contract end 2028-01-01
#: (= the horizon's end, exclusive) are inside; the reservation already held that runs to
#: 2029-04-01 is the normal case and not reported
EXPECTED = [
    "warning: {f}:8:23: offers.overrides[0].available_from: 2029-01-01 is after the horizon's "
    "end 2028-01-01; clipped to 2028-01-01: the offers it matches are never available in the "
    "horizon",
    "warning: {f}:13:12: workloads[0].start: 2026-07-01 is before the horizon's start "
    "2027-01-01; clipped to 2027-01-01: training pretrain may run from the first period, 2027-Q1",
    # the contract runs 2026-01-01 .. 2028-01-01 (730 days), 365 of them inside: 50.0%
    "warning: {f}:23:12: contracts[0].start: 2026-01-01 is before the horizon's start "
    "2027-01-01; clipped to 2027-01-01: contract edp counts only inside the horizon: 50.0% of "
    "its time, so 1,000,000 of its 2,000,000 USD committed",
]


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "clipped to" in line]


def test_validate_warns_on_stderr_with_file_line_and_what_it_became(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(CLIPPED)
    result = hyperplan("validate", "s.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _warnings(result.stderr) == [e.format(f="s.yaml") for e in EXPECTED]
    assert "clipped to" not in result.stdout
    assert "clipped is valid" in result.stdout  # the summary still prints


def test_plan_warns_on_stderr_before_planning(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(CLIPPED)
    result = hyperplan("plan", "s.yaml", "--no-outages", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _warnings(result.stderr) == [e.format(f="s.yaml") for e in EXPECTED]
    assert "clipped to" not in result.stdout


def test_a_scenario_inside_its_horizon_gets_no_warning(tmp_path: Path) -> None:
    result = hyperplan("validate", str(ROOT / "examples" / "small.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "clipped" not in result.stderr


def test_dates_on_the_edges_are_inside_and_unlocated_without_a_file() -> None:
    """A start on the horizon's start and an end on its end (exclusive) are not clipped; a
    scenario given as text has no file, so its warnings have no line and keep the order
    workloads, contracts, overrides; a reservation already held that started before the
    horizon is not reported."""
    text = (
        CLIPPED.split("offers:")[0]
        + "workloads:\n"
        + "  - {name: run, kind: training, compute_gpu_hours: 10, start: 2027-01-01,"
        + " deadline: 2028-01-01}\n"
        + "contracts:\n"
        + "  - {name: c, provider: aws, committed_usd: 300, start: 2027-01-01, end: 2029-01-01}\n"
        + "reservations:\n"
        + "  - {provider: aws, region: us-east-1, instance_type: p5.48xlarge, instances: 1,"
        + " start: 2026-10-01, end: 2028-01-01}\n"
    )
    warnings = clipped_dates(load_scenario_text(text))
    assert [(p.file, p.line, p.path) for p in warnings] == [
        ("<input>", None, "contracts[0].end"),
    ]
    # 2027-01-01 .. 2029-01-01 is 731 days (2028 is a leap year), 365 of them inside
    assert warnings[0].message == (
        "2029-01-01 is after the horizon's end 2028-01-01; clipped to 2028-01-01: contract c "
        "counts only inside the horizon: 49.9% of its time, so 150 of its 300 USD committed"
    )
