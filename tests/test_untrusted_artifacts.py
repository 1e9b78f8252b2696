"""Issue 18, classes 4, 5, 7 and 8: plans, results, outputs and options from someone else.

Real subprocesses for exit codes: each input must end in exit status 2 with a located message
(file, JSON path or option, what was expected), never a traceback or "internal error".
"""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hyperplan.errors import InputError
from hyperplan.fileio import write_text_atomic
from hyperplan.plan.api import Plan
from hyperplan.plan.artifact import plan_from_dict
from hyperplan.plan.solve import SolverOptions
from hyperplan.sim.estimate import FIXED_BYTES, estimate_sim

SCENARIO = """\
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


def hyperplan(*args: str, env: dict[str, str] | None = None):
    """Run the CLI in a subprocess: (exit status, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "hyperplan.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    return proc.returncode, proc.stdout, proc.stderr


def invoke(*args: str, env: dict[str, str] | None = None):
    """Run the CLI in this process (CliRunner; a subprocess costs seconds of imports): as above,
    with stdout and stderr together in the second and third place."""
    from hyperplan.cli import app

    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output, result.output


def refused(code: int, out: str, err: str) -> str:
    """Assert a clean refusal (exit 2, no traceback, no internal error); the message, one line."""
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and "internal error" not in err, err
    return " ".join(err.split())


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """scenario.yaml, its plan.json and a 20-trial sim.json, and their parsed JSON."""
    from hyperplan.plan import plan
    from hyperplan.scenario.load import load_scenario
    from hyperplan.sim.api import simulate

    folder = tmp_path_factory.mktemp("artifacts")
    (folder / "scenario.yaml").write_text(SCENARIO, encoding="utf-8")
    result = plan(load_scenario(folder / "scenario.yaml"))
    result.to_json(folder / "plan.json")
    simulate(result, trials=20, seed=0, workers=1).to_json(folder / "sim.json")
    return {
        "folder": folder,
        "plan": json.loads((folder / "plan.json").read_text(encoding="utf-8")),
        "sim": json.loads((folder / "sim.json").read_text(encoding="utf-8")),
    }


def _col(data: dict, table: str, column: str) -> list:
    return data["tables"][table]["columns"][column]["values"]


# ---------------------------------------------------------------------------------- class 4


def test_class4_malformed_plan_and_sim_json_are_refused_located(files: dict[str, Any]) -> None:
    folder: Path = files["folder"]
    plan, sim = files["plan"], files["sim"]
    n_cap = len(_col(plan, "capacity", "gpus"))
    com0 = {c: _col(plan, "commitments", c)[0] for c in plan["tables"]["commitments"]["columns"]}
    assert com0["instances"] > 0

    def edited(edit: Any) -> str:
        data = json.loads(json.dumps(plan))
        edit(data)
        return json.dumps(data)

    def negative(d: dict) -> None:
        _col(d, "commitments", "instances")[0] = -com0["instances"]

    def doubled(d: dict) -> None:
        _col(d, "commitments", "instances")[0] = 2 * com0["instances"]

    # the capacity the plan holds of commitment 0's offer in its first period (hand: + inst)
    key = f"{com0['provider']}:{com0['region']}:{com0['instance_type']}"
    t0 = com0["first_period_index"]
    cap = sum(
        r
        for p, rg, it, t, r in zip(
            _col(plan, "capacity", "provider"),
            _col(plan, "capacity", "region"),
            _col(plan, "capacity", "instance_type"),
            _col(plan, "capacity", "period_index"),
            _col(plan, "capacity", "reserved_instances"),
            strict=True,
        )
        if f"{p}:{rg}:{it}" == key and t == t0
    )
    label = plan["meta"]["periods"][t0]
    plan_text = json.dumps(plan)
    cases: list[tuple[str, str, str]] = [
        ("list.json", "[]", "expected a plan.json (hyperplan.plan/1)"),
        ("null.json", "null", "a JSON object; found null"),
        ("truncated.json", plan_text[:300], "truncated.json:1:301: invalid JSON"),
        (
            "no-commitments.json",
            edited(lambda d: d["tables"].pop("commitments")),
            "tables.commitments: missing table",
        ),
        (
            "ragged.json",
            edited(lambda d: _col(d, "capacity", "gpus").pop()),
            f"tables.capacity.gpus: has {n_cap - 1} values; the table's other columns have {n_cap}",
        ),
        (
            "type.json",
            edited(lambda d: _col(d, "commitments", "gpus").__setitem__(0, "many")),
            "tables.commitments[0].gpus: expected a number (or 'nan', 'inf', '-inf'); "
            "found the string 'many'",
        ),
        (
            "nan.json",
            edited(lambda d: _col(d, "capacity", "mw").__setitem__(0, math.nan)),
            "tables.capacity[0].mw: expected a finite number ≥ 0; found nan",
        ),
        ("stats.json", edited(lambda d: d.__setitem__("stats", [])), "stats: Input should be"),
        (
            "negative.json",
            edited(negative),
            f"tables.commitments[0].instances: expected a finite number ≥ 0; "
            f"found {-com0['instances']:.6g}",
        ),
        (
            "inconsistent.json",
            edited(doubled),
            f"fails the planner's check 'capacity = existing + commitments': reserved capacity "
            f"of {key} in {label} is {cap:.6g}, but existing + commitments give "
            f"{cap + com0['instances']:.6g}",
        ),
    ]
    for name, text, expect in cases:
        (folder / name).write_text(text, encoding="utf-8")
        out = folder / f"{name}.html"
        run = hyperplan if name == "list.json" else invoke  # one real exit status is enough
        message = refused(*run("report", str(folder / name), "-o", str(out)))
        assert expect in message, (name, message)
        assert str(folder / name) in message and not out.exists(), name

    # simulate reads plans the same way; the wrong kind says what was expected
    message = refused(*hyperplan("simulate", str(folder / "negative.json"), "-n", "5"))
    assert "tables.commitments[0].instances: expected a finite number ≥ 0" in message
    message = refused(*hyperplan("simulate", str(folder / "sim.json"), "-n", "5"))
    assert "this is a sim.json (hyperplan.sim/1)" in message
    assert "expected a plan.json (hyperplan.plan/1)" in message
    message = refused(*invoke("report", str(folder / "scenario.yaml")))
    assert "is a scenario (YAML); expected a plan.json" in message
    # a bounded size, checked before parsing
    size = (folder / "plan.json").stat().st_size
    message = refused(
        *invoke("report", str(folder / "plan.json"), env={"HYPERPLAN_MAX_ARTIFACT_BYTES": "1000"})
    )
    assert f"is {size:,} bytes, above the limit of 1,000 bytes" in message

    # sim.json given to report --sim
    for name, edit, expect in (
        ("sim-stats.json", lambda d: d.__setitem__("stats", []), "stats: unknown key"),
        (
            "sim-summary.json",
            lambda d: d.__setitem__("summary", []),
            "summary: expected one row per metric; found none",
        ),
        (
            "sim-ragged.json",
            lambda d: d["trials"]["cost_usd"].pop(),
            "trials.cost_usd: has 19 trials; the other metrics have 20",
        ),
    ):
        data = json.loads(json.dumps(sim))
        edit(data)
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
        args = ("report", str(folder / "plan.json"), "--sim", str(folder / name))
        message = refused(*invoke(*args, "-o", str(folder / "r.html")))
        assert f"{folder / name}: {expect}" in message, message


def test_class4_a_written_plan_round_trips_through_validation(files: dict[str, Any]) -> None:
    """The planner's own output passes every stage; tables and totals come back unchanged."""
    again = Plan.from_json(files["folder"] / "plan.json")
    data = files["plan"]
    assert again.objective_usd == pytest.approx(data["objective_usd"], rel=1e-12)
    assert list(again.tables) == list(data["tables"])
    for name, df in again.tables.items():
        assert len(df) == len(next(iter(data["tables"][name]["columns"].values()))["values"])
    with pytest.raises(InputError) as info:
        plan_from_dict({**data, "tables": {**data["tables"], "offers": []}})
    assert info.value.problems[0].path == "tables.offers"


# ---------------------------------------------------------------------------------- class 5


def test_class5_simulate_estimates_memory_and_refuses_before_allocating(
    files: dict[str, Any],
) -> None:
    # hand: per (trial, step) 14 B × 2 domains + 2 × 1 site + 8 × 1 shock + 24 (walk) = 62 B
    est = estimate_sim(
        steps=1000,
        trials=16,
        chunk=16,
        workers=1,
        domains=2,
        sites=1,
        spot_pools=0,
        inference=1,
        runs=0,
        pools=3,
        repair_blocks=10,
        metrics=10,
    )
    per_chunk = 16 * 1000 * 62 + 8 * 16 * 10 * 3 + 24 * 1000 + FIXED_BYTES
    assert est.per_chunk == per_chunk
    assert est.bytes == per_chunk + 24 * 1000 + 32 * 16 * 10
    plan = str(files["folder"] / "plan.json")
    limit = {"HYPERPLAN_MEMORY_LIMIT_BYTES": str(8 * 2**30)}
    # --step 1s: 31,536,000 steps; before compiling, 2 providers and 1 inference workload:
    # 16 trials × 31,536,000 × (14 × 2 + 8 + 24) B + 24 B × 31,536,000 + 160 MiB in the chunk,
    # + 24 B × 31,536,000 + 32 B × 100 trials in the main process = 31,956,063,360 B = 29.8 GiB
    code, out, err = hyperplan("simulate", plan, "--step", "1s", "-n", "100", "-w", "1", env=limit)
    message = refused(code, out, err)
    assert "MemoryError" not in err
    assert "the simulation would need about 29.8 GiB of memory" in message
    assert "more than the 8.0 GiB available ($HYPERPLAN_MEMORY_LIMIT_BYTES)" in message
    assert "a coarser --step (now 1 s, 31,536,000 steps" in message
    # trials scale the metrics kept in memory; workers each hold a chunk
    message = refused(*invoke("simulate", plan, "--step", "1d", "-n", "1000000000", env=limit))
    assert "fewer --trials (now 1,000,000,000)" in message
    small = {"HYPERPLAN_MEMORY_LIMIT_BYTES": str(600 * 2**20)}
    message = refused(
        *invoke("simulate", plan, "--step", "10min", "-n", "64", "-w", "4", env=small)
    )
    assert "fewer --workers (now 4 processes, each holding a chunk)" in message


# ---------------------------------------------------------------------------------- class 7


def test_class7_outputs_are_checked_first_and_written_through_links_and_devices(
    files: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder: Path = files["folder"]
    scenario, plan = str(folder / "scenario.yaml"), str(folder / "plan.json")
    # a directory, a path under a file, an unwritable folder: refused before the solve
    message = refused(*hyperplan("plan", scenario, "-o", str(tmp_path)))
    assert f"{tmp_path}: --output: is a directory" in message and "solver:" not in message
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    message = refused(*invoke("plan", scenario, "--html", str(tmp_path / "afile" / "r.html")))
    assert "--html: cannot be written: a parent of it is a file" in message
    if os.geteuid() == 0:  # root writes anywhere a mode allows; /proc takes no new files
        target = "/proc/plan.json"
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        target = str(ro / "plan.json")
    message = refused(*invoke("simulate", scenario, "-n", "5", "-o", target))
    assert f"{target}: --output: cannot be written" in message and "planning" not in message
    for args in (("schema", "-o", str(tmp_path)), ("report", plan, "-o", str(tmp_path))):
        assert "is a directory" in refused(*invoke(*args))

    # a symbolic link: its target gets the report, the link stays a link
    real, link = tmp_path / "real.html", tmp_path / "link.html"
    real.write_text("OLD", encoding="utf-8")
    link.symlink_to(real)
    code, _, err = hyperplan("report", plan, "-o", str(link))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")

    # a FIFO (as /dev/null, a character device): written directly, never replaced
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_text_atomic(fifo, "through the pipe")
    reader.join(timeout=30)
    assert got == [b"through the pipe"] and stat.S_ISFIFO(fifo.stat().st_mode)

    # interrupted after plan.json was written and before report.html: say which was written
    from hyperplan.cli import app

    def interrupt(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("hyperplan.report.html.render_report", interrupt)
    out_json, out_html = tmp_path / "p.json", tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["plan", scenario, "-o", str(out_json), "--html", str(out_html)]
    )
    assert result.exit_code == 130, result.output
    assert f"interrupted: wrote only {out_json} before stopping" in " ".join(result.output.split())
    assert "nothing was written" not in result.output
    assert out_json.exists() and not out_html.exists()


# ---------------------------------------------------------------------------------- class 8


def test_class8_every_numeric_and_enumerated_option_is_validated(files: dict[str, Any]) -> None:
    scenario = str(files["folder"] / "scenario.yaml")
    cases = [
        (("plan", scenario, "--time-limit", "-1"), "--time-limit", "> 0; found -1.0"),
        (("plan", scenario, "--time-limit", "nan"), "--time-limit", "> 0; found nan"),
        (("plan", scenario, "--mip-gap", "nan"), "--mip-gap", "≥ 0 and ≤ 1; found nan"),
        (("plan", scenario, "--mip-gap", "2"), "--mip-gap", "≥ 0 and ≤ 1; found 2.0"),
        (("plan", scenario, "--method", "foo"), "--method", "one of simplex, ipm, choose"),
        (("compare", scenario, "--time-limit", "inf"), "--time-limit", "found inf"),
        (("compare", scenario, "--simulate", "-n", "0"), "--trials", "whole number ≥ 1"),
        (("simulate", scenario, "--trials", "-5"), "--trials", "whole number ≥ 1; found -5"),
        (("simulate", scenario, "--seed", "-1"), "--seed", "whole number ≥ 0"),
        (("simulate", scenario, "--workers", "0"), "--workers", "whole number ≥ 1; found 0"),
        (("simulate", scenario, "--years", "nan"), "--years", "> 0 and ≤ 1000; found nan"),
        (("simulate", scenario, "--step", "inf"), "--step", "expected a duration like 1h"),
        (("catalog", "--limit", "-1"), "--limit", "whole number ≥ 1; found -1"),
        (("demo", "--trials", "-1", "--no-browser"), "--trials", "whole number ≥ 0"),
        (("init", "--template", "huge"), "--template", "one of small, frontier"),
        (("simulate", scenario, "--years", "1e300"), "--years", "≤ 1000; found 1e+300"),
        (("simulate", scenario, "--step", "0.5s"), "--step", "at least 1s; found '0.5s'"),
        (("catalog", "--provider", "awss"), "--provider", "unknown provider 'awss'"),
        (("catalog", "--geo", "zz"), "--geo", "unknown geo 'zz' in the catalog"),
    ]
    for i, (args, option, expect) in enumerate(cases):
        code, out, err = (hyperplan if i in (1, 8, 12) else invoke)(*args)
        message = refused(code, out, err)
        assert option in message and expect in message, (args, message)
        assert "solver:" not in out + err, args  # refused before any work
    for bad in ({"time_limit": math.nan}, {"time_limit": -1.0}, {"mip_gap": math.nan}):
        with pytest.raises(InputError):
            SolverOptions(**bad)
    with pytest.raises(InputError):
        SolverOptions(method="foo")  # type: ignore[arg-type]
