"""Fuzz the readers of plan.json and sim.json: every input is refused, located, or loads cleanly.

    python bench/fuzz_artifacts.py --seconds 600 --seed 1     # writes bench/results/fuzz_artifacts.json

A seeded generator damages a valid plan.json (planned from ``examples/small.yaml``) and a valid
sim.json (20 trials of it): truncations, type swaps, deleted keys, ragged columns, wrong dtypes,
huge numbers (1e308, 5,000-digit integers), NaN and inf, negative quantities, capacities scaled
away from their commitments, deep nesting, the other kind of artifact, YAML and random bytes.

The oracle (:func:`outcome`): reading the file (``load_plan_json`` / ``load_sim_json``) either
returns a plan that the simulator compiles and the report view reads, or raises ``InputError``
whose every problem names the file and a location (JSON path or line) and says what was
expected; anything else (another exception, an unlocated problem, more than :data:`TIME_BOUND`
seconds) is a failure. :func:`run` is what ``bench/fuzz.py`` and ``tests/test_artifact_fuzz.py``
call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import sys
import tempfile
import time
import traceback
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TIME_BOUND = 5.0
"""Seconds reading one input may take (read, validate, re-verify, compile; not the report)."""

PLAN_TABLES = ("commitments", "capacity", "allocation", "markets", "offers", "workloads", "spend")
QUANTITIES = {
    "commitments": ("instances", "gpus", "usd_per_hour"),
    "capacity": ("reserved_instances", "ondemand_instances", "gpus", "mw"),
    "allocation": ("instances", "served"),
    "markets": ("existing_instances", "ondemand_cap"),
    "offers": ("gpus",),
    "workloads": ("demand", "hours"),
}
ODD_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    "x",
    "",
    "nan",
    "inf",
    -1,
    0,
    1e308,
    -1e308,
    float("nan"),
    float("inf"),
    10**18,
    [],
    {},
    [1, 2],
    {"dtype": "float"},
    "2027-02-30",
)


@cache
def base_artifacts() -> tuple[str, str]:
    """A valid plan.json and sim.json (text) of ``examples/small.yaml``, made once per process."""
    from hyperplan.plan import plan
    from hyperplan.scenario.load import load_scenario
    from hyperplan.sim.api import simulate

    result = plan(load_scenario(ROOT / "examples" / "small.yaml"))
    sim = simulate(result, trials=20, seed=0, workers=1)
    plan_text = json.dumps(result.to_dict(), indent=1, default=str)
    sim_text = json.dumps(sim.to_dict(), indent=1)
    return plan_text, sim_text


# ------------------------------------------------------------------------------------ mutations


def _containers(rng: random.Random, obj: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every dict and list in ``obj`` with its path (lists longer than 8: a sample of 8)."""
    out = [(path, obj)]
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict | list):
                out += _containers(rng, v, (*path, k))
    elif isinstance(obj, list):
        idx = range(len(obj)) if len(obj) <= 8 else rng.sample(range(len(obj)), 8)
        for i in idx:
            if isinstance(obj[i], dict | list):
                out += _containers(rng, obj[i], (*path, i))
    return out


def _column(rng: random.Random, data: dict) -> tuple[str, str, dict] | None:
    tables = data.get("tables")
    if not isinstance(tables, dict) or not tables:
        return None
    name = rng.choice(sorted(tables))
    cols = tables[name].get("columns") if isinstance(tables[name], dict) else None
    if not isinstance(cols, dict) or not cols:
        return None
    col = rng.choice(sorted(cols))
    return (name, col, cols[col]) if isinstance(cols[col], dict) else None


def mutate_structure(rng: random.Random, data: Any) -> str:
    """Damage the parsed JSON in place; return what was done."""
    how = rng.choice(
        (
            "swap",
            "delete",
            "ragged",
            "dtype",
            "negative",
            "nan",
            "huge",
            "scale",
            "delete_table",
            "swap_cell",
        )
    )
    if how in ("ragged", "dtype", "swap_cell", "nan", "huge") and isinstance(data, dict):
        pick = _column(rng, data) if "tables" in data else None
        if (
            pick is None
            and "trials" in data
            and isinstance(data["trials"], dict)
            and data["trials"]
        ):
            k = rng.choice(sorted(data["trials"]))
            pick = ("trials", k, {"values": data["trials"][k]})
        if pick is not None:
            table, col, spec = pick
            values = spec.get("values")
            if isinstance(values, list):
                if how == "ragged":
                    if values and rng.random() < 0.5:
                        values.pop(rng.randrange(len(values)))
                    else:
                        values.append(values[0] if values else 1.0)
                elif how == "dtype":
                    spec["dtype"] = rng.choice(("float", "int", "bool", "date", "str", "blob", 3))
                elif values:
                    i = rng.randrange(len(values))
                    values[i] = {
                        "swap_cell": rng.choice(ODD_VALUES),
                        "nan": rng.choice((float("nan"), "nan", "inf", "-inf", float("-inf"))),
                        "huge": rng.choice((1e308, -1e308, 10**19, -(10**19), 1e-320)),
                    }[how]
            return f"{how} {table}.{col}"
    if (
        how in ("negative", "scale")
        and isinstance(data, dict)
        and isinstance(data.get("tables"), dict)
    ):
        table = rng.choice(sorted(QUANTITIES))
        cols = data["tables"].get(table, {}).get("columns", {})
        col = rng.choice(QUANTITIES[table])
        values = cols.get(col, {}).get("values") if isinstance(cols, dict) else None
        if isinstance(values, list) and values:
            factor = -1.0 if how == "negative" else rng.choice((0.5, 2.0, 1.0 + 1e-3))
            every = rng.random() < 0.5
            for i in range(len(values)) if every else [rng.randrange(len(values))]:
                if isinstance(values[i], int | float) and not isinstance(values[i], bool):
                    values[i] = values[i] * factor
            return f"{how} {table}.{col} ({'all' if every else 'one'})"
    tables = data.get("tables") if isinstance(data, dict) else None
    if how == "delete_table" and isinstance(tables, dict) and tables:
        name = rng.choice(sorted(tables))
        del tables[name]
        return f"delete table {name}"
    spots = _containers(rng, data)
    path, target = rng.choice(spots)
    if isinstance(target, dict) and target:
        key = rng.choice(sorted(target, key=str))
        if how == "delete":
            del target[key]
            return f"delete {(*path, key)}"
        target[key] = rng.choice(ODD_VALUES)
        return f"swap {(*path, key)}"
    if isinstance(target, list) and target:
        i = rng.randrange(len(target))
        target[i] = rng.choice(ODD_VALUES)
        return f"swap {(*path, i)}"
    return "none"


def mutate_text(rng: random.Random, text: str) -> tuple[str, str]:
    """Damage the JSON text itself; return (text, what was done)."""
    how = rng.choice(("truncate", "digits", "nest", "garbage", "bom", "yaml", "empty"))
    if how == "truncate":
        n = rng.randrange(len(text))
        return text[:n], f"truncate at {n}"
    if how == "digits":  # an integer longer than Python's int-to-str limit (4,300 digits)
        i = text.find(": ", rng.randrange(len(text)))
        if i > 0:
            end = i + 2
            while end < len(text) and text[end] not in ",\n}]":
                end += 1
            return text[: i + 2] + "9" * rng.choice((20, 400, 5000)) + text[end:], "digits"
        return text, "digits (none)"
    if how == "nest":
        depth = rng.choice((50, 1000, 100_000))
        return '{"schema": "hyperplan.plan/1", "tables": ' + "[" * depth + "]" * depth + "}", (
            f"nest {depth}"
        )
    if how == "garbage":
        n = rng.randrange(len(text))
        junk = "".join(rng.choice('{}[]",:0e-+.\\\x00é') for _ in range(rng.randint(1, 8)))
        return text[:n] + junk + text[n:], "garbage"
    if how == "bom":
        return "\ufeff" + text, "bom"
    if how == "yaml":
        return "name: small\nhorizon: {start: 2026-01, periods: 8}\n", "yaml"
    return "", "empty"


def generate(rng: random.Random) -> tuple[bytes, str, str]:
    """One damaged input: (bytes, reader 'plan' or 'sim', description)."""
    plan_text, sim_text = base_artifacts()
    kind = "plan" if rng.random() < 0.75 else "sim"
    base = plan_text if kind == "plan" else sim_text
    roll = rng.random()
    if roll < 0.05:  # the other kind of artifact, as is
        other = sim_text if kind == "plan" else plan_text
        return other.encode(), kind, "other kind"
    if roll < 0.08:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))), kind, "bytes"
    if roll < 0.3:
        text, how = mutate_text(rng, base)
        return text.encode("utf-8", "surrogatepass"), kind, how
    data = json.loads(base)
    hows = [mutate_structure(rng, data) for _ in range(rng.choice((1, 1, 2, 3)))]
    try:
        text = json.dumps(data, indent=None if rng.random() < 0.5 else 1)
    except (ValueError, TypeError) as exc:  # e.g. an integer json cannot write
        return str(exc).encode(), kind, "unwritable"
    return text.encode(), kind, "; ".join(hows)


# ------------------------------------------------------------------------------------ the oracle


def outcome(raw: bytes, kind: str, folder: Path, *, render: bool = False) -> str:
    """``"accepted"`` or ``"refused"``; raises AssertionError (or anything) on a failure."""
    from hyperplan.artifacts import load_sim_json
    from hyperplan.errors import InputError
    from hyperplan.plan.artifact import load_plan_json

    path = folder / f"input-{kind}.json"
    path.write_bytes(raw)
    started = time.perf_counter()
    loaded: Any = None
    try:
        if kind == "plan":
            loaded = load_plan_json(path)
            _use_plan(loaded)
        else:
            loaded = load_sim_json(path)
            from hyperplan.report.sections import sim_view

            sim_view(loaded)
    except InputError as exc:
        assert exc.problems, "an InputError without problems"
        for p in exc.problems:
            assert p.file == str(path) or p.path.startswith("--"), f"unlocated problem: {p}"
            assert p.message.strip(), f"empty message: {p}"
            assert p.path or p.line is not None or p.file, f"no location: {p}"
        return "refused"
    finally:
        took = time.perf_counter() - started
        assert took < TIME_BOUND, f"reading took {took:.1f} s"
    if render and kind == "plan":  # the whole HTML report (not timed: seconds on a busy machine)
        from hyperplan.report.html import render_report

        render_report(loaded)
    return "accepted"


def _use_plan(plan: Any) -> None:
    """What simulate and report do first with a loaded plan."""
    from hyperplan.errors import InputError
    from hyperplan.report.summary import summarize
    from hyperplan.sim.inputs import compile_plan
    from hyperplan.sim.models import SimConfig

    with contextlib.suppress(InputError):
        compile_plan(plan, years=1.0, step_hours=24.0, config=SimConfig())
    summarize(plan)
    plan.misses()
    assert math.isfinite(plan.total_usd) or not len(plan.tables["spend"])


def run(seconds: float, seed: int, *, render_share: float = 0.2) -> dict[str, Any]:
    """Fuzz for ``seconds`` from ``seed``; counts of inputs and the first failures.

    ``render_share`` of the plans that load are also rendered as the HTML report.

    Returns:
        ``tried``, ``refused_located``, ``accepted``, ``failures`` (must be 0), ``examples``
        (up to 10 failures: what was done, the error), ``seconds``, ``seed``.
    """
    rng = random.Random(seed)
    base_artifacts()
    folder = Path(tempfile.mkdtemp(prefix="hyperplan-fuzz-artifacts-"))
    counts = {"tried": 0, "refused_located": 0, "accepted": 0, "failures": 0}
    examples: list[dict[str, str]] = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        raw, kind, how = generate(rng)
        counts["tried"] += 1
        try:
            result = outcome(raw, kind, folder, render=rng.random() < render_share)
        except Exception as exc:  # every other outcome is a failure to report
            counts["failures"] += 1
            if len(examples) < 10:
                examples.append(
                    {
                        "kind": kind,
                        "mutation": how,
                        "error": f"{type(exc).__name__}: {exc}"[:500],
                        "where": traceback.format_exc(limit=-3)[-800:],
                    }
                )
            continue
        counts["refused_located" if result == "refused" else "accepted"] += 1
    return {
        **counts,
        "examples": examples,
        "seconds": round(time.perf_counter() - t0, 1),
        "seed": seed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="wall-clock budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a few seconds (smoke run)")
    parser.add_argument("--render", type=float, default=0.2, help="share of loads rendered")
    args = parser.parse_args()
    result = run(3.0 if args.quick else args.seconds, args.seed, render_share=args.render)
    out = ROOT / "bench" / "results" / "fuzz_artifacts.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "examples"}))
    for ex in result["examples"]:
        print(f"FAIL {ex['kind']} [{ex['mutation']}]: {ex['error']}\n{ex['where']}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
