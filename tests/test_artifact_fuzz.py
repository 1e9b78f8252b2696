"""Fuzzing the plan.json and sim.json readers (issue 18, class 4) within a CI budget.

The generator and the oracle are ``bench/fuzz_artifacts.py`` (``run(seconds, seed)``; the same
code runs for minutes from ``bench/fuzz.py``): every damaged file must be refused with located
problems or load into a plan the simulator compiles and the report reads; nothing else.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import fuzz_artifacts as fa  # noqa: E402

BUDGET_SECONDS = 4.0


def test_damaged_plan_and_sim_json_end_in_a_located_refusal_or_a_valid_load() -> None:
    fa.base_artifacts()  # planning and simulating the base files is not part of the budget
    result = fa.run(BUDGET_SECONDS, seed=20261206, render_share=0.05)
    assert result["failures"] == 0, result["examples"]
    assert result["tried"] == result["refused_located"] + result["accepted"]
    assert result["tried"] >= 5, result  # a few hundred on an idle machine; 5 when it is busy
    assert result["refused_located"] > 0 and result["accepted"] >= 0


def test_every_kind_of_text_damage_is_refused_or_loads(tmp_path: Path) -> None:
    """Each text damage at least once (the timed run may not draw all of them); damage that
    breaks the JSON itself must be refused, located by line and column where there is one."""
    plan_text, sim_text = fa.base_artifacts()
    rng = random.Random(7)
    must_refuse = {"truncate", "nest", "bom", "yaml", "empty"}
    seen: dict[str, str] = {}
    for i in range(400):
        kind = "plan" if i % 2 else "sim"
        text, done = fa.mutate_text(rng, plan_text if kind == "plan" else sim_text)
        how = done.split()[0]
        result = fa.outcome(text.encode("utf-8"), kind, tmp_path)
        if how in must_refuse and not (how == "truncate" and text == plan_text):
            assert result == "refused", done
        seen[how] = result
        if len(seen) == 7:
            break
    assert set(seen) == {"truncate", "digits", "nest", "garbage", "bom", "yaml", "empty"}


def test_inputs_the_fuzzer_once_broke_are_refused_located(tmp_path: Path) -> None:
    """Each of these once escaped as a KeyError, ValueError or OverflowError (hours of 1e308:
    a NaN in the misses table)."""
    from hyperplan.artifacts import load_sim_json
    from hyperplan.errors import InputError
    from hyperplan.plan.artifact import load_plan_json

    plan_text, sim_text = fa.base_artifacts()

    def plan_with(table: str, column: str, value: object) -> str:
        data = json.loads(plan_text)
        data["tables"][table]["columns"][column]["values"][0] = value
        return json.dumps(data)

    sim = json.loads(sim_text)
    trials = sim["summary"][0]["trials"]
    # json cannot write a 400-digit integer (str(int) limit), so it goes into the text
    head, rest = json.dumps(sim).split('"summary"', 1)
    sim_huge = head + '"summary"' + rest.replace(f'"trials": {trials}', '"trials": ' + "9" * 400, 1)
    cases = [
        ("plan", plan_with("offers", "instance_type", "zzz"), "tables.offers[0].offer_id"),
        (
            "plan",
            plan_with("commitments", "start_date", "soon"),
            "tables.commitments[0].start_date",
        ),
        ("plan", plan_with("capacity", "gpus", 10**400), "tables.capacity[0].gpus"),
        ("plan", plan_with("workloads", "hours", 1e308), "tables.workloads[0].hours"),
        ("sim", sim_huge, "summary[0].trials"),
    ]
    for kind, text, path in cases:
        file = tmp_path / f"case-{kind}.json"
        file.write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as info:
            (load_plan_json if kind == "plan" else load_sim_json)(file)
        assert [p.path for p in info.value.problems][:1] == [path], info.value.problems
        assert fa.outcome(text.encode(), kind, tmp_path) == "refused"
