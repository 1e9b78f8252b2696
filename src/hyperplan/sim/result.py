"""``SimResult``: per-trial metrics of a simulation, how it was run (typed), and sim.json.

Writing (:meth:`SimResult.to_dict`, :meth:`SimResult.to_json`) and reading
(:meth:`SimResult.from_dict`, :meth:`SimResult.from_json`, validated by
:mod:`hyperplan.artifacts`) live here, in one place.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from hyperplan.artifacts import SIM_SCHEMA, json_number, read_json_file, sim_from_dict
from hyperplan.artifacts.problems import _pydantic_problems
from hyperplan.errors import InputError
from hyperplan.fileio import write_text_atomic
from hyperplan.sim.metrics import summarize, unit_of
from hyperplan.sim.models import SimConfig

#: The keys of sim.json's ``meta``, in the order the simulator writes them.
SIM_META_KEYS = (
    "scenario",
    "seed",
    "trials",
    "years",
    "step_hours",
    "steps",
    "pools",
    "periods",
    "compile_seconds",
    "seconds",
    "pool_steps",
    "pool_steps_per_second",
    "backend",
    "workers",
    "address",
    "config",
    "warnings",
)


class SimContext(BaseModel):
    """How a simulation was run (sim.json's ``meta``, typed). Absent values are None.

    ``scenario`` (name), ``seed``, ``trials``, ``years`` (simulated window, years of 8,760 h),
    ``step_hours`` (h), ``steps``, ``pools``, ``periods`` (labels simulated),
    ``compile_seconds`` and ``seconds`` (s), ``pool_steps`` and ``pool_steps_per_second``
    (1/s), ``backend`` (``local``, ``processes``, ``ray``) with ``workers`` or ``address``,
    ``config`` (:class:`SimConfig`), ``warnings``; ``extra``: other keys, kept as read.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenario: str | None = None
    seed: int | None = None
    trials: int | None = None
    years: float | None = None
    step_hours: float | None = None
    steps: int | None = None
    pools: int | None = None
    periods: tuple[str, ...] | None = None
    compile_seconds: float | None = None
    seconds: float | None = None
    pool_steps: float | None = None
    pool_steps_per_second: float | None = None
    backend: str | None = None
    workers: int | None = None
    address: str | None = None
    config: SimConfig | None = None
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def where(self) -> str:
        """Where it ran: the worker count, else the Ray address (empty when unknown)."""
        if self.workers is not None:
            return str(self.workers)
        return self.address or ""

    def to_meta(self) -> dict[str, Any]:
        """sim.json's ``meta`` (the keys the simulator has always written; None ones left out,
        except ``warnings``)."""
        out: dict[str, Any] = {}
        for key in SIM_META_KEYS:
            value = getattr(self, key)
            if key == "warnings":
                out[key] = list(value)
            elif key == "config":
                if value is not None:
                    out[key] = value.model_dump(mode="json")
            elif value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        out.update(self.extra)
        return out

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], *, file: str | None = None) -> SimContext:
        """Read sim.json's ``meta``; a value of the wrong type is an :class:`InputError` located
        ``meta.<key>``."""
        known = {k: meta[k] for k in SIM_META_KEYS if k in meta and meta[k] is not None}
        extra = {k: v for k, v in meta.items() if k not in SIM_META_KEYS}
        try:
            return cls(**known, extra=extra)
        except PydanticValidationError as exc:
            raise InputError(_pydantic_problems(exc, file, "meta")) from None


class SimResult:
    """Per-trial metrics of a simulation and how it was run.

    ``metrics``: one row per trial, one column per metric (``served_fraction:chat``,
    ``training_delay_hours:pretrain``, ``cost_usd``, ``goodput``, ``outage_hours:aws``, …);
    units by :meth:`unit`. ``context`` (:class:`SimContext`): seed, trials, years, step hours,
    the config, backend, seconds, pools, steps and pool-steps per second. ``meta`` is the same
    as sim.json's ``meta`` dict (changes to it are read back into ``context``).

    Example::

        >>> import tempfile
        >>> from pathlib import Path
        >>> from hyperplan import SimResult, load_scenario, plan, simulate
        >>> sim = simulate(plan(load_scenario("examples/small.yaml")), trials=20, workers=1)
        >>> sim.context.trials, list(sim.summary().columns[:3])
        (20, ['metric', 'unit', 'trials'])
        >>> path = Path(tempfile.mkdtemp()) / "sim.json"
        >>> sim.to_json(path)
        >>> SimResult.from_json(path).metrics.equals(sim.metrics)
        True
    """

    def __init__(
        self,
        metrics: pd.DataFrame,
        meta: dict[str, Any] | None = None,
        *,
        context: SimContext | None = None,
    ) -> None:
        if meta is not None and context is not None:
            raise TypeError("give a result its context or its meta dict, not both")
        self.metrics = metrics
        self._context = context if context is not None else SimContext()
        self._meta: dict[str, Any] | None = meta
        self._meta_read: dict[str, Any] | None = None

    @property
    def context(self) -> SimContext:
        """How the simulation was run (typed; see :class:`SimContext`)."""
        if self._meta is not None and self._meta != self._meta_read:
            self._context = SimContext.from_meta(self._meta)
            self._meta_read = copy.deepcopy(self._meta)
        return self._context

    @property
    def meta(self) -> dict[str, Any]:
        """sim.json's ``meta`` as a dict (prefer :attr:`context`)."""
        if self._meta is None:
            self._meta = self._context.to_meta()
            self._meta_read = copy.deepcopy(self._meta)
        return self._meta

    def __getitem__(self, name: str) -> np.ndarray:
        return self.metrics[name].to_numpy()

    def __repr__(self) -> str:
        return f"SimResult(trials={self.trials}, metrics={list(self.metrics.columns)})"

    @property
    def trials(self) -> int:
        return len(self.metrics)

    @staticmethod
    def unit(metric: str) -> str:
        """Unit of a metric."""
        return unit_of(metric)

    def summary(self) -> pd.DataFrame:
        """Distribution of each metric: mean, std, P1, P5, P50, P95, P99."""
        return summarize(self.metrics)

    # ---------------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (schema ``hyperplan.sim/1``): summary and every trial's metrics."""
        summary = self.summary()
        return {
            "schema": SIM_SCHEMA,
            "meta": self.context.to_meta(),
            "summary": [
                {k: json_number(v) for k, v in row.items()}
                for row in summary.to_dict(orient="records")
            ],
            "trials": {
                name: [json_number(float(v)) for v in self.metrics[name].to_numpy()]
                for name in self.metrics.columns
            },
        }

    def to_json(self, path: str | Path) -> None:
        """Write sim.json atomically (a reader never sees half a file)."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=1))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, file: str | None = None) -> SimResult:
        """Inverse of :meth:`to_dict`, validated (``hyperplan.artifacts.sim_from_dict``)."""
        clean = sim_from_dict(data, file=file)
        metrics = pd.DataFrame({k: np.array(v, dtype=float) for k, v in clean["trials"].items()})
        context = SimContext.from_meta(clean.get("meta") or {}, file=file)
        return cls(metrics=metrics, context=context)

    @classmethod
    def from_json(cls, path: str | Path) -> SimResult:
        """Read a sim.json (bounded size, validated; located errors, exit status 2)."""
        return cls.from_dict(read_json_file(path, "sim"), file=str(path))
