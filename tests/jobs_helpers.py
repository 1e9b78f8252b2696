"""Helpers of the job tests: a scenario that takes seconds to solve, waiting, process checks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SMALL = (ROOT / "examples" / "small.yaml").read_text()

SLOW = """\
name: slow
horizon: {start: 2027-01-01, period: month, periods: 24, discount_rate: 0.08}
providers: {aws: {}, azure: {}, gcp: {}, oci: {}, nebius: {}, lambda: {}}
workloads:
  - {name: pretrain, kind: training, compute_gpu_hours: 15_000_000, start: 2027-04, deadline: 2029-01}
  - name: chat
    kind: inference
    demand_tokens_per_s: {start: 2_000_000, growth_per_year: 1.0}
    model_params_b: 70
    resilience: 0.8
  - name: chat-eu
    kind: inference
    demand_tokens_per_s: {start: 800_000, growth_per_year: 1.0}
    model_params_b: 70
    resilience: 0.8
    geo: [eu]
policies: {max_share: 0.5, outages: providers}
"""
"""A scenario whose plan takes several seconds (34k rows × 51k columns): long enough to kill,
cancel or time out a worker mid-solve."""


def env() -> dict[str, str]:
    """The environment of a child process: this checkout's sources first."""
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def start_worker(db: str, *args: str) -> subprocess.Popen[str]:
    """``hyperplan worker --db DB ARGS`` as a real process (stderr captured)."""
    return subprocess.Popen(
        [sys.executable, "-m", "hyperplan.cli", "worker", "--db", db, *args],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(what: Callable[[], Any], timeout: float, step: float = 0.1, why: str = "") -> Any:
    """Poll ``what()`` until it is truthy; return it, or fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {why or what}")
        time.sleep(step)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not reaped, counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")
