"""Reading sim.json: bounded, typed, lengths consistent, located problems."""

from __future__ import annotations

import math
import os
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from hyperplan.artifacts.files import _short, check_kind, read_json_file
from hyperplan.artifacts.models import SimEnvelope
from hyperplan.artifacts.problems import _huge_ints, _Problems, _pydantic_problems
from hyperplan.artifacts.tables import number_from_json
from hyperplan.errors import InputError


def sim_from_dict(data: Any, *, file: str | None = None) -> dict[str, Any]:
    """Validate a sim.json object; return it (non-finite numbers as floats), or refuse, located."""
    check_kind(data, "sim", file=file)
    try:
        env = SimEnvelope.model_validate(data)
    except PydanticValidationError as exc:
        raise InputError(_pydantic_problems(exc, file)) from None
    out = _Problems(file)
    lengths = {k: len(v) for k, v in env.trials.items()}
    if len(set(lengths.values())) > 1:
        common = max(set(lengths.values()), key=list(lengths.values()).count)
        for k, n in lengths.items():
            if n != common:
                out.add(f"has {n} trials; the other metrics have {common}", f"trials.{k}")
    n_trials = next(iter(lengths.values()), None)
    if env.meta.trials is not None and n_trials is not None and n_trials != env.meta.trials:
        out.add(f"says {env.meta.trials} trials; the metrics have {n_trials}", "meta.trials")
    if not env.summary:
        out.add("expected one row per metric; found none", "summary")
    seen: set[str] = set()
    for i, row in enumerate(env.summary):
        if row.metric in seen:
            out.add(f"metric {_short(row.metric)} appears twice", f"summary[{i}].metric")
        seen.add(row.metric)
    out.raise_if_any()
    for path in _huge_ints(data.get("meta"), "meta"):
        out.add("expected a number of at most 2**63 - 1 in size", path)
    out.raise_if_any()
    clean = dict(data)
    clean["summary"] = [
        {k: number_from_json(v) for k, v in row.model_dump().items()} for row in env.summary
    ]
    clean["trials"] = {
        k: [math.nan if v is None else float(number_from_json(v)) for v in vals]
        for k, vals in env.trials.items()
    }
    return clean


def load_sim_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a sim.json (bounded, typed, located)."""
    data = read_json_file(path, "sim")
    return sim_from_dict(data, file=str(path))
