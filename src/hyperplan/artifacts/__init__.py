"""plan.json and sim.json: writing them, and reading them back when they may come from someone else.

Reading is in four stages, each of which refuses with located problems (:class:`InputError`, exit
status 2) rather than a traceback:

1. **The file**: a regular file (no FIFO, device or directory) of at most :func:`max_bytes` bytes
   (``$HYPERPLAN_MAX_ARTIFACT_BYTES``, default 256 MiB), checked before a byte is parsed; UTF-8;
   JSON (a syntax error gives its line and column; nesting deeper than Python's recursion
   limit and integers longer than 4,300 digits are refused).
2. **The kind**: the ``schema`` key says what the file is (``hyperplan.plan/1``,
   ``hyperplan.sim/1``, ``hyperplan.replan/1``); a scenario YAML or another kind of artifact
   says what was expected.
3. **The schema**: a pydantic model of the envelope, of ``meta`` and of every table's columns and
   dtypes (``{"dtype": "float", "values": [...]}``); a fault is named by its JSON path, e.g.
   ``tables.commitments[3].gpus``.
4. **The meaning**: each table the simulator and the report read has its columns with the
   expected dtypes, the same number of rows in every column, quantities finite and ≥ 0, period
   indices inside the horizon and offers that exist; then the planner's own independent check
   (:func:`hyperplan.plan.verify.verify`) must pass: a plan whose capacities disagree with its
   commitments is refused with the violated check named.

A replan document (what ``hyperplan replan --json`` prints) goes through stages 1-3
(:mod:`hyperplan.artifacts.replan`).

The serialization of tables (``table_to_json`` / ``table_from_json``) lives here too. This package
sits below ``plan`` and ``sim``: it knows JSON, not the classes. ``Plan`` (:mod:`hyperplan.plan.
artifact`) and ``SimResult`` (:mod:`hyperplan.sim.result`) build themselves from what it validates;
reading a plan.json into a ``Plan`` is ``Plan.from_json`` (or ``hyperplan.plan.artifact.
load_plan_json``).
"""

from __future__ import annotations

from hyperplan.artifacts.files import (
    MAX_BYTES,
    MAX_BYTES_ENV,
    PLAN_SCHEMA,
    SIM_SCHEMA,
    check_kind,
    max_bytes,
    read_json_file,
)
from hyperplan.artifacts.plan import (
    ValidPlan,
    upgrade_scenario_json,
    validate_plan_dict,
    violation_problems,
)
from hyperplan.artifacts.sim import load_sim_json, sim_from_dict
from hyperplan.artifacts.tables import (
    TABLES,
    json_number,
    number_from_json,
    table_from_json,
    table_to_json,
)

__all__ = [
    "MAX_BYTES",
    "MAX_BYTES_ENV",
    "PLAN_SCHEMA",
    "SIM_SCHEMA",
    "TABLES",
    "ValidPlan",
    "check_kind",
    "json_number",
    "load_sim_json",
    "max_bytes",
    "number_from_json",
    "read_json_file",
    "sim_from_dict",
    "table_from_json",
    "table_to_json",
    "upgrade_scenario_json",
    "validate_plan_dict",
    "violation_problems",
]
