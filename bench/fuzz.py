"""A longer fuzz run of the scenario loader (and optionally the planner) than the test suite's.

    python bench/fuzz.py --minutes 10            # loader: mutated scenarios, bytes, YAML-ish text
    python bench/fuzz.py --minutes 10 --plan     # also plan random valid scenarios

Uses the strategies and the oracle of ``tests/test_fuzz.py`` (every input ends in a Scenario or
a located InputError within 2 s, nothing else escapes). Hypothesis shrinks each failure; the
minimal input is written to ``bench/results/fuzz-failures/`` (move it to
``tests/fuzz_corpus/load/`` once fixed, so the suite replays it). With ``--plan``, every valid
scenario is also planned (time limit 30 s): it must give a plan that passes the independent
check, or a HyperplanError; the slowest plans are listed. A summary goes to
``bench/results/fuzz.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import test_fuzz as fz  # noqa: E402
from hyperplan.errors import HyperplanError, InputError  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FAILURES = RESULTS / "fuzz-failures"


def _save(data: str | bytes, kind: str, error: str) -> Path:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    FAILURES.mkdir(parents=True, exist_ok=True)
    path = FAILURES / f"{kind}-{hashlib.sha1(raw).hexdigest()[:10]}.yaml"
    path.write_bytes(raw)
    path.with_suffix(".txt").write_text(error, encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="wall-clock budget")
    parser.add_argument("--batch", type=int, default=200, help="examples per hypothesis run")
    parser.add_argument("--plan", action="store_true", help="also plan valid scenarios")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="hyperplan-fuzz-"))
    cfg = settings(
        max_examples=args.batch,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    plans: dict[str, Any] = {"planned": 0, "errors": {}, "slowest": []}

    def plan_it(text: str) -> None:
        from hyperplan.plan import plan

        scenario = fz.outcome(text, folder)
        if isinstance(scenario, InputError):
            return
        started = time.perf_counter()
        try:
            result = plan(scenario, time_limit=30)
            status = result.status
        except HyperplanError as exc:
            status = f"{type(exc).__name__}: {str(exc)[:160]}"
            message = str(exc).split(": ", 1)[-1] if isinstance(exc, InputError) else str(exc)
            key = f"{type(exc).__name__}: " + re.sub(r"[\d,.]+", "#", message)[:110]
            plans["errors"][key] = plans["errors"].get(key, 0) + 1
            if not isinstance(exc, InputError) and "cannot all hold" not in str(exc):
                _save(text, "plan", status)  # not a known, explained refusal: keep it
        seconds = time.perf_counter() - started
        plans["planned"] += 1
        plans["slowest"] = sorted([*plans["slowest"], (round(seconds, 2), status)], reverse=True)[
            :5
        ]

    def load_it(data: str | bytes) -> None:
        fz.outcome(data, folder)

    jobs: list[tuple[str, st.SearchStrategy[Any], Any]] = [
        ("mutated", fz.mutated_texts(), load_it),
        ("bytes", st.binary(max_size=2000), load_it),
        ("yamlish", fz.yamlish(), load_it),
        ("unicode", st.text(max_size=2000), load_it),
        ("valid", fz.valid_scenarios().map(fz.render), load_it),
    ]
    if args.plan:
        jobs.append(("plan", fz.valid_scenarios().map(fz.render), plan_it))
    failures: list[dict[str, str]] = []
    rounds = 0
    started = time.monotonic()
    deadline = started + 60 * args.minutes
    while time.monotonic() < deadline:
        rounds += 1
        for kind, strategy, check in jobs:
            if time.monotonic() >= deadline:
                break
            test = cfg(given(strategy)(check))
            try:
                test()
            except Exception as exc:  # a failure, already shrunk by hypothesis
                data = fz.LAST.get("data", b"")
                error = "".join(traceback.format_exception(exc))
                path = _save(data, kind, error)
                failures.append({"kind": kind, "file": str(path), "error": str(exc)[:300]})
                print(f"FAILURE ({kind}): {str(exc)[:200]}\n  saved to {path}", flush=True)
        elapsed = time.monotonic() - started
        print(
            f"round {rounds}: {int(fz.STATS['inputs'])} inputs in {elapsed:.0f} s, "
            f"{len(failures)} failures",
            flush=True,
        )
    elapsed = time.monotonic() - started
    summary = {
        "minutes": round(elapsed / 60, 2),
        "inputs": int(fz.STATS["inputs"]),
        "valid": int(fz.STATS["valid"]),
        "refused": int(fz.STATS["refused"]),
        "inputs_per_second": round(fz.STATS["inputs"] / max(elapsed, 1e-9), 1),
        "slowest_input_seconds": round(fz.STATS["slowest_seconds"], 3),
        "failures": failures,
        "plans": plans if args.plan else None,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
