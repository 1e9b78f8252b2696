"""A longer fuzz run of the scenario loader (and optionally the planner) than the test suite's.

    python bench/fuzz.py --minutes 10            # every class below, round robin
    python bench/fuzz.py --minutes 10 --plan     # also plan the inputs that load
    python bench/fuzz.py --minutes 1 --only paths --only strings

Uses the strategies and the oracle of ``tests/test_fuzz.py``: every input ends in a Scenario or
a located InputError within 2 s, nothing else escapes, and no message shows a byte of a file
outside the scenario. The classes (:func:`classes`) are mutated scenarios, random bytes,
YAML-ish text, random unicode, valid scenarios, and the classes of issue 18: hostile paths and
special files (``..``, absolute, symlinks, FIFOs, /dev/zero, /proc), huge and tiny numbers,
numbers YAML cannot build (2027-02-30, 5,001 digits), long strings, names that differ only in
case, booleans and numeric strings; and damaged plan.json / sim.json files
(``bench/fuzz_artifacts.py``: refused with a location, or read, simulated and summarised). With ``--plan`` every input that loads is also planned
(time limit 30 s): it must give a plan that passes the independent check, a located
InputError, or a conflict of hard limits the scenario holds ("unplannable").

Hypothesis shrinks each failure; the minimal input is written to
``bench/results/fuzz-failures/`` (move it to ``tests/fuzz_corpus/load/`` once fixed, so the
suite replays it). The summary (inputs tried, refused with a location, loaded, planned,
failures; per class and in total) goes to ``bench/results/fuzz.json``; the exit status is 1
when there was a failure.

To add a class (e.g. malformed plan/sim JSON), append a :class:`FuzzClass` to the list
:func:`classes` returns: a strategy and a check that returns one of :data:`OUTCOMES`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fuzz_artifacts as fa  # noqa: E402
import test_fuzz as fz  # noqa: E402
from hyperplan.errors import HyperplanError, InputError  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FAILURES = RESULTS / "fuzz-failures"
OUTCOMES = ("refused", "loaded", "planned", "unplannable")
"""What a check may return: refused with a located error (at load, or by the planner's own
located checks), loaded (valid), planned, or unplannable (valid, but its hard limits cannot all
hold: a HyperplanError that is not an InputError)."""


@dataclass
class FuzzClass:
    """One class of inputs: its name, a hypothesis strategy, and the check of one input.

    ``check`` raises (AssertionError or anything else) on a failure and otherwise returns one
    of :data:`OUTCOMES`.
    """

    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], str]
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    failures: int = 0

    @property
    def tried(self) -> int:
        return sum(self.counts.values()) + self.failures


def _save(data: str | bytes, kind: str, error: str) -> Path:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    FAILURES.mkdir(parents=True, exist_ok=True)
    path = FAILURES / f"{kind}-{hashlib.sha1(raw).hexdigest()[:10]}.yaml"
    path.write_bytes(raw)
    path.with_suffix(".txt").write_text(error, encoding="utf-8")
    return path


class Planner:
    """Plans the inputs that load (``--plan``); keeps refusal kinds and the slowest plans."""

    def __init__(self) -> None:
        self.errors: dict[str, int] = {}
        self.slowest: list[tuple[float, str]] = []

    def __call__(self, scenario: Any, text: str) -> str:
        from hyperplan.plan import plan

        started = time.perf_counter()
        try:
            status = plan(scenario, time_limit=30).status
            outcome = "planned"
        except HyperplanError as exc:
            status = f"{type(exc).__name__}: {str(exc)[:160]}"
            message = str(exc).split(": ", 1)[-1] if isinstance(exc, InputError) else str(exc)
            key = f"{type(exc).__name__}: " + re.sub(r"[\d,.]+", "#", message)[:110]
            self.errors[key] = self.errors.get(key, 0) + 1
            if not isinstance(exc, InputError) and "cannot all hold" not in str(exc):
                raise AssertionError(f"unexplained refusal: {status}") from exc  # a failure
            located = isinstance(exc, InputError) and all(p.path for p in exc.problems)
            outcome = "refused" if located else "unplannable"
        seconds = time.perf_counter() - started
        self.slowest = sorted([*self.slowest, (round(seconds, 2), status)], reverse=True)[:5]
        return outcome


def classes(folder: Path, planner: Planner | None = None) -> list[FuzzClass]:
    """The classes fuzzed, in round-robin order (append to extend)."""

    def load(data: str | bytes) -> str:
        result = fz.outcome(data, folder)
        if isinstance(result, InputError):
            return "refused"
        if planner is not None:
            return planner(result, data if isinstance(data, str) else "")
        return "loaded"

    out = [
        FuzzClass("mutated", fz.mutated_texts(), load),
        FuzzClass("bytes", st.binary(max_size=2000), load),
        FuzzClass("yamlish", fz.yamlish(), load),
        FuzzClass("unicode", st.text(max_size=2000), load),
        FuzzClass("valid", fz.valid_scenarios().map(fz.render), load),
    ]
    out += [FuzzClass(kind, fz.hostile_texts(folder, kind), load) for kind in fz.HOSTILE_CLASSES]

    def artifact(seed: int) -> str:
        # a damaged plan.json or sim.json (bench/fuzz_artifacts.py): refused located, or loads
        raw, kind, _how = fa.generate(random.Random(seed))
        fz.LAST["data"] = raw  # what _save writes if this input fails
        return "refused" if fa.outcome(raw, kind, folder) == "refused" else "loaded"

    out.append(FuzzClass("artifacts", st.integers(0, 2**63 - 1), artifact))
    return out


def _counted(cls: FuzzClass) -> Callable[[Any], None]:
    """``cls.check`` that counts its outcomes (and failing calls, shrinking included)."""

    def check(data: Any) -> None:
        try:
            outcome = cls.check(data)
        except BaseException:
            cls.failures += 1
            raise
        cls.counts[outcome] += 1

    return check


def run(classes_: list[FuzzClass], minutes: float, batch: int) -> list[dict[str, str]]:
    """Round-robin over the classes until ``minutes`` have passed; return the failures."""
    cfg = settings(
        max_examples=batch,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    failures: list[dict[str, str]] = []
    started = time.monotonic()
    deadline = started + 60 * minutes
    rounds = 0
    while time.monotonic() < deadline:
        rounds += 1
        for cls in classes_:
            if time.monotonic() >= deadline:
                break

            try:
                cfg(given(cls.strategy)(_counted(cls)))()
            except Exception as exc:  # a failure, already shrunk by hypothesis
                data = fz.LAST.get("data", b"")
                error = "".join(traceback.format_exception(exc))
                path = _save(data, cls.name, error)
                failures.append({"kind": cls.name, "file": str(path), "error": str(exc)[:300]})
                print(f"FAILURE ({cls.name}): {str(exc)[:200]}\n  saved to {path}", flush=True)
        tried = sum(c.tried for c in classes_)
        print(
            f"round {rounds}: {tried} inputs in {time.monotonic() - started:.0f} s, "
            f"{len(failures)} failures",
            flush=True,
        )
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="wall-clock budget")
    parser.add_argument("--batch", type=int, default=200, help="examples per hypothesis run")
    parser.add_argument("--plan", action="store_true", help="also plan inputs that load")
    parser.add_argument("--only", action="append", default=[], help="fuzz only this class")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="hyperplan-fuzz-"))
    fz.prepare_folder(folder)
    planner = Planner() if args.plan else None
    chosen = [c for c in classes(folder, planner) if not args.only or c.name in args.only]
    if not chosen:
        parser.error(f"no class named {args.only}; known: {[c.name for c in classes(folder)]}")
    started = time.monotonic()
    failures = run(chosen, args.minutes, args.batch)
    elapsed = time.monotonic() - started
    per_class = {
        c.name: {"tried": c.tried, **c.counts, "failing_calls": c.failures} for c in chosen
    }
    total = {key: sum(v[key] for v in per_class.values()) for key in ("tried", *OUTCOMES)}
    summary = {
        "minutes": round(elapsed / 60, 2),
        "inputs_tried": total["tried"],
        "refused_with_location": total["refused"],
        "loaded": total["loaded"],
        "planned": total["planned"],
        "unplannable": total["unplannable"],
        "failures": len(failures),
        "inputs_per_second": round(total["tried"] / max(elapsed, 1e-9), 1),
        "slowest_input_seconds": round(fz.STATS["slowest_seconds"], 3),
        "classes": per_class,
        "failure_details": failures,
        "plan_refusals": planner.errors if planner else None,
        "slowest_plans": planner.slowest if planner else None,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
