"""Compare two plan.json files number by number (issue 19: scaling must not change a plan).

    python bench/plan_json_diff.py BASELINE.plan.json NEW.plan.json [--rtol 1e-6] [--atol 1e-9]

Walks both documents in step (same keys, same list lengths, same strings) and compares every
number: the relative difference ``|a − b| / max(|a|, |b|)``, except where both are within
``--atol`` of 0 (solver round-off around zero; counted apart). Timings and other run-dependent
fields (``stats.*_seconds``, ``stats.simplex_iterations``, versions, dates) are skipped. Prints the
worst relative difference and where it is; exit status 1 when some difference exceeds ``--rtol``
or the structures differ.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

#: Keys whose values depend on the run, not on the plan.
SKIP = {
    "build_seconds",
    "solve_seconds",
    "results_seconds",
    "verify_seconds",
    "simplex_iterations",
    "estimated_bytes",
    "created",
    "version",
    "hyperplan_version",
}


def walk(a: Any, b: Any, path: str, out: dict[str, Any]) -> None:
    """Compare ``a`` and ``b`` recursively, recording into ``out``."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            out["structure"].append(f"{path}: keys differ {sorted(set(a) ^ set(b))}")
        for key in sorted(set(a) & set(b)):
            if key in SKIP:
                continue
            walk(a[key], b[key], f"{path}.{key}", out)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out["structure"].append(f"{path}: lengths {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            walk(x, y, f"{path}[{i}]", out)
        return
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool | str):
        fa, fb = float(a), float(b)
        out["numbers"] += 1
        if math.isnan(fa) or math.isnan(fb):
            if not (math.isnan(fa) and math.isnan(fb)):
                out["structure"].append(f"{path}: {a!r} != {b!r}")
            return
        if fa == fb:
            return
        if abs(fa) <= out["atol"] and abs(fb) <= out["atol"]:
            out["near_zero"] += 1
            out["worst_abs"] = max(out["worst_abs"], abs(fa - fb))
            return
        rel = abs(fa - fb) / max(abs(fa), abs(fb))
        out["differ"] += 1
        if rel > out["worst"][0]:
            out["worst"] = (rel, path, fa, fb)
        if rel > out["rtol"]:
            out["over"].append((rel, path, fa, fb))
        return
    if a != b:
        out["structure"].append(f"{path}: {a!r} != {b!r}"[:300])


def compare(base: Any, new: Any, rtol: float, atol: float) -> dict[str, Any]:
    """The comparison record of two parsed plan.json documents."""
    out: dict[str, Any] = {
        "rtol": rtol,
        "atol": atol,
        "numbers": 0,
        "differ": 0,
        "near_zero": 0,
        "worst_abs": 0.0,
        "worst": (0.0, "", 0.0, 0.0),
        "over": [],
        "structure": [],
    }
    walk(base, new, "", out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--atol", type=float, default=1e-9)
    args = parser.parse_args()
    res = compare(
        json.loads(args.baseline.read_text()),
        json.loads(args.new.read_text()),
        args.rtol,
        args.atol,
    )
    rel, where, a, b = res["worst"]
    print(
        f"{res['numbers']:,} numbers, {res['differ']:,} differ; worst relative difference "
        f"{rel:.3g} at {where or '-'} ({a!r} vs {b!r}); {res['near_zero']} differ only within "
        f"{args.atol:g} of 0 (largest {res['worst_abs']:.3g})"
    )
    for rel, where, a, b in sorted(res["over"], reverse=True)[:20]:
        print(f"  over {args.rtol:g}: {rel:.3g} at {where}: {a!r} vs {b!r}")
    for line in res["structure"][:20]:
        print(f"  differs: {line}")
    sys.exit(1 if res["over"] or res["structure"] else 0)


if __name__ == "__main__":
    main()
