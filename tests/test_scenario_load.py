"""Loading good scenario files: the model, series expansion, date forms and the positions map."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from hyperplan.catalog import load_catalog
from hyperplan.scenario import load_scenario
from hyperplan.scenario.load import load_scenario_text
from hyperplan.scenario.schema import CsvSeries, GrowthSeries, Inference, Training
from hyperplan.scenario.timeline import expand_series, timeline
from hyperplan.scenario.yamlpos import parse_yaml, render_path

GOOD = """\
name: small
description: two providers, three workloads
horizon:
  start: 2026-01
  period: quarter
  periods: 4
providers:
  aws: {}
  oci:
    regions:
      us-ashburn-1: {geo: [us], power_mw: 50}
workloads:
  - name: chat
    kind: inference
    demand_tokens_per_s: {start: 100, growth_per_year: 1.0}
    accelerators: [H100, gb300]
    perf_tokens_per_s: {H100: 2500}
  - name: pretrain
    kind: training
    compute_gpu_hours: 2000000
    start: 2026-Q2
    deadline: 2026-12
  - name: sandboxes
    kind: agents
    demand_vcpus: [1000, 2000, 3000, 4000]
  - name: evals
    kind: batch
    demand_gpus: 64
    preemptible: true
policies:
  max_share: {aws: 0.7, oci: 0.7}
"""

# Days from 2026-01-01 to the start of each quarter of 2026.
QUARTER_DAYS = np.array([0, 90, 181, 273])


def test_good_scenario_loads(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(GOOD, encoding="utf-8")
    s = load_scenario(path)
    assert s.name == "small"
    assert s._source == str(path)
    assert s._base_dir == tmp_path.resolve()
    assert [w.kind for w in s.workloads] == ["inference", "training", "agents", "batch"]
    assert isinstance(s.workloads[0], Inference)
    assert s.workloads[0].demand_tokens_per_s == GrowthSeries(start=100, growth_per_year=1.0)
    assert s.providers["oci"].regions["us-ashburn-1"].power_mw == 50
    assert s.policies.max_share == {"aws": 0.7, "oci": 0.7}


def test_load_with_explicit_catalog_and_text() -> None:
    s = load_scenario_text(GOOD, catalog=load_catalog())
    assert s._source is None and s._base_dir is None
    s = load_scenario_text(GOOD, filename="x.yaml", base_dir="/data")
    assert s._source == "x.yaml" and s._base_dir == Path("/data")


def test_series_forms_expand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "demand.csv").write_text(
        "period,tokens,other\n2026-Q1,10,0\n2026-Q2,20,0\n2026-Q3,30,0\n2026-Q4,45.5,0\n"
    )
    text = GOOD.replace(
        "demand_gpus: 64", "demand_gpus: {csv: data/demand.csv, column: tokens}"
    ).replace("power_mw: 50", "power_mw: 50.5")
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path / "data")  # CSV paths resolve against the file, not the cwd
    s = load_scenario(path)
    tl = timeline(s.horizon)
    chat, _, agents, batch = s.workloads
    growth = expand_series(chat.demand_tokens_per_s, tl)
    np.testing.assert_allclose(growth, 100 * 2.0 ** (QUARTER_DAYS / 365.25))
    np.testing.assert_allclose(expand_series(agents.demand_vcpus, tl), [1000, 2000, 3000, 4000])
    power = s.providers["oci"].regions["us-ashburn-1"].power_mw
    np.testing.assert_allclose(expand_series(power, tl), [50.5] * 4)
    assert batch.demand_gpus == CsvSeries(csv="data/demand.csv", column="tokens")
    np.testing.assert_allclose(
        expand_series(batch.demand_gpus, tl, s._base_dir), [10, 20, 30, 45.5]
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2027", dt.date(2027, 1, 1)),
        ("'2027'", dt.date(2027, 1, 1)),
        ("2027-Q3", dt.date(2027, 7, 1)),
        ("2027-q4", dt.date(2027, 10, 1)),
        ("2027-07", dt.date(2027, 7, 1)),
        ("2027-7", dt.date(2027, 7, 1)),
        ("2027-07-15", dt.date(2027, 7, 15)),
        ("'2027-07-15'", dt.date(2027, 7, 15)),
        ("2027-07-15 12:30:00", dt.date(2027, 7, 15)),
    ],
)
def test_date_forms(written: str, expected: dt.date) -> None:
    text = GOOD.replace("periods: 4", "periods: 16").replace("deadline: 2026-12", "deadline: 2029")
    text = text.replace("start: 2026-Q2", f"start: {written}")
    text = text.replace("demand_vcpus: [1000, 2000, 3000, 4000]", "demand_vcpus: 1000")
    s = load_scenario_text(text)
    training = s.workloads[1]
    assert isinstance(training, Training)
    assert training.start == expected


def test_horizon_start_forms() -> None:
    s = load_scenario_text(GOOD.replace("start: 2026-01\n", "start: 2026-Q1\n", 1))
    assert s.horizon.start == dt.date(2026, 1, 1)
    s = load_scenario_text(GOOD.replace("start: 2026-01\n", "start: 2026-01-01\n", 1))
    assert s.horizon.start == dt.date(2026, 1, 1)


def test_positions_map() -> None:
    text = """\
horizon:
  start: 2026-01   # comment
workloads:
  - name: chat
    demand: {start: 1, growth_per_year: 0.5}
  -   name: "two words"
      list: [1,  2]
"""
    data, pos = parse_yaml(text, "f.yaml")
    assert data["workloads"][1] == {"name": "two words", "list": [1, 2]}
    assert pos.file == "f.yaml"
    assert pos[()] == (1, 1)
    assert pos[("horizon",)] == (2, 3)
    assert pos[("horizon", "start")] == (2, 10)
    assert pos.key_at[("horizon", "start")] == (2, 3)
    assert pos[("workloads", 0)] == (4, 5)
    assert pos[("workloads", 0, "demand")] == (5, 13)
    assert pos[("workloads", 0, "demand", "growth_per_year")] == (5, 41)
    assert pos.key_at[("workloads", 0, "demand", "growth_per_year")] == (5, 24)
    assert pos[("workloads", 1, "name")] == (6, 13)
    assert pos[("workloads", 1, "list", 1)] == (7, 18)
    # missing paths fall back to the nearest parent (its key when it has one)
    assert pos.locate(("workloads", 0, "demand", "csv")) == (5, 5)
    assert pos.locate(("workloads", 1, "kind")) == (6, 7)
    assert pos.locate(("nope",)) == (1, 1)


def test_merge_keys_and_aliases() -> None:
    text = """\
defaults: &d {start: 1, growth_per_year: 0.5}
a:
  <<: *d
  start: 2
"""
    data, pos = parse_yaml(text)
    assert data["a"] == {"start": 2, "growth_per_year": 0.5}
    assert pos[("a", "start")] == (4, 10)
    assert pos[("a", "growth_per_year")] == (1, 42)


def test_keys_stay_text() -> None:
    data, _ = parse_yaml("no: 1\n2027: x\n")
    assert data == {"no": 1, "2027": "x"}


def test_render_path() -> None:
    assert render_path(("workloads", 2, "demand", "growth_per_year")) == (
        "workloads[2].demand.growth_per_year"
    )
    assert render_path(("perf", "B200 (HGX)")) == "perf['B200 (HGX)']"
    assert render_path(()) == ""


def test_user_offer_csv_adds_names(tmp_path: Path) -> None:
    (tmp_path / "neo.csv").write_text(
        "provider,region,instance_type,accelerator,accelerators_per_instance,ondemand_usd_per_hour\n"
        "neo,neo-west-1,big.8x,H100,8,20\n"
    )
    text = GOOD.replace("  aws: {}\n", "  aws: {}\n  neo: {regions: {neo-west-1: {}}}\n")
    text = text.replace("policies:", "offers:\n  catalog_csv: [neo.csv]\npolicies:")
    text += (
        "reservations:\n  - {provider: neo, region: neo-west-1, instance_type: big.8x,"
        " instances: 4, start: 2026, end: 2027}\n"
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    s = load_scenario(path)
    assert s.reservations[0].provider == "neo"
