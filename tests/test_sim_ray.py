"""The simulator on Ray gives exactly the process pool's results (ray is an optional extra)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from hyperplan.plan import plan as make_plan
from hyperplan.plan.api import Plan
from hyperplan.scenario.load import load_scenario
from hyperplan.sim import simulate

ray = pytest.importorskip(
    "ray", reason='ray is not installed (an optional extra): pip install ".[test,ray]"'
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::ResourceWarning"
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def small() -> Plan:
    return make_plan(load_scenario(ROOT / "examples" / "small.yaml"))


def test_ray_with_2_cpus_equals_the_process_pool(local_ray: None, small: Plan) -> None:
    on_ray = simulate(small, trials=40, seed=7, ray="auto")
    assert on_ray.meta["backend"] == "ray"
    assert ray.is_initialized()  # a cluster we did not start is left running
    pooled = simulate(small, trials=40, seed=7, workers=2)
    pd.testing.assert_frame_equal(on_ray.metrics, pooled.metrics, check_exact=True)
