"""Stages 1 and 2 of reading an artifact: the file (regular, bounded, UTF-8 JSON) and its kind."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hyperplan.errors import InputError, Problem

PLAN_SCHEMA = "hyperplan.plan/1"
SIM_SCHEMA = "hyperplan.sim/1"
REPLAN_SCHEMA = "hyperplan.replan/1"
MAX_BYTES_ENV = "HYPERPLAN_MAX_ARTIFACT_BYTES"
MAX_BYTES = 256 * 2**20
"""Default size limit of a plan.json, sim.json or replan document, bytes (256 MiB; frontier-2030's plan is 0.7 MB)."""

Kind = Literal["plan", "sim", "replan"]
_WHAT = {
    "plan": f"a plan.json ({PLAN_SCHEMA}) written by `hyperplan plan -o`",
    "sim": f"a sim.json ({SIM_SCHEMA}) written by `hyperplan simulate -o`",
    "replan": f"a replan document ({REPLAN_SCHEMA}) written by `hyperplan replan --json`",
}
_SCHEMA: dict[str, Kind] = {PLAN_SCHEMA: "plan", SIM_SCHEMA: "sim", REPLAN_SCHEMA: "replan"}


def max_bytes() -> int:
    """The size limit of a plan.json or sim.json, bytes (``$HYPERPLAN_MAX_ARTIFACT_BYTES``)."""
    text = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not text:
        return MAX_BYTES
    try:
        value = int(float(text))
    except ValueError:
        value = -1
    if value <= 0:
        raise InputError(
            [Problem(f"must be a positive number of bytes; found {text!r}", path=MAX_BYTES_ENV)]
        )
    return value


def read_json_file(path: str | os.PathLike[str], expect: Kind) -> dict[str, Any]:
    """Parse ``path`` as the JSON of a ``expect`` artifact; refuse anything else, located.

    Returns the top-level object, whose ``schema`` is the expected one.
    """
    file = str(path)
    p = Path(path)
    limit = max_bytes()

    def refuse(message: str, **where: Any) -> InputError:
        return InputError([Problem(message, file=file, **where)])

    try:
        st = p.stat()
    except FileNotFoundError:
        raise refuse("no such file") from None
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise refuse(f"is a directory; expected {_WHAT[expect]}")
    if not stat.S_ISREG(st.st_mode):
        raise refuse(f"is not a regular file (a FIFO, socket or device); expected {_WHAT[expect]}")
    if st.st_size > limit:
        raise refuse(
            f"is {st.st_size:,} bytes, above the limit of {limit:,} bytes for {_WHAT[expect]} "
            f"(raise ${MAX_BYTES_ENV} to read it)"
        )
    if p.suffix.lower() in (".yaml", ".yml"):
        raise refuse(f"is a scenario (YAML); expected {_WHAT[expect]}")
    try:
        with p.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:  # grew while we looked
        raise refuse(f"is above the limit of {limit:,} bytes for {_WHAT[expect]}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"is not UTF-8 text (byte {exc.start}); expected {_WHAT[expect]}") from None
    if not text.strip():
        raise refuse(f"is empty; expected {_WHAT[expect]}")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if text.lstrip()[:1] not in ("{", "["):
            hint = f" (this does not look like JSON; expected {_WHAT[expect]})"
        raise refuse(f"invalid JSON: {exc.msg}{hint}", line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise refuse("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise refuse(f"invalid JSON: {exc}") from None
    check_kind(obj, expect, file=file)
    return obj


def check_kind(obj: Any, expect: Kind, *, file: str | None = None) -> None:
    """Refuse ``obj`` unless it is a JSON object whose ``schema`` is the ``expect`` artifact's."""
    if not isinstance(obj, dict):
        found = _json_type(obj)
        raise InputError(
            [Problem(f"expected {_WHAT[expect]}, a JSON object; found {found}", file=file)]
        )
    schema = obj.get("schema")
    other = _SCHEMA.get(schema) if isinstance(schema, str) else None
    if other == expect:
        return
    if other is not None:
        raise InputError(
            [Problem(f"this is {_WHAT[other]}; expected {_WHAT[expect]}", file=file, path="schema")]
        )
    found = "no 'schema' key" if "schema" not in obj else f"schema {_short(schema)}"
    raise InputError(
        [Problem(f"expected {_WHAT[expect]}; found {found}", file=file, path="schema")]
    )


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"{str(v).lower()} (a boolean)"
    if isinstance(v, int | float):
        return f"the number {_short(v)}"
    if isinstance(v, str):
        return f"the string {_short(v)}"
    if isinstance(v, list):
        return f"a list of {len(v)} item{'s' if len(v) != 1 else ''}"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _short(v: Any, most: int = 40) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    text = f"{v:.6g}" if isinstance(v, float) else repr(v)
    return text if len(text) <= most else text[: most - 1] + "…"
