"""Located problems of an artifact: pydantic errors as JSON paths (``tables.commitments[3].gpus``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pydantic import ValidationError as PydanticValidationError

from hyperplan.artifacts.files import _json_type, _short
from hyperplan.errors import InputError, Problem

MAX_PROBLEMS = 50
"""At most this many problems are listed (the count says how many more were found)."""


class _Problems:
    """Collects located problems of one file, at most :data:`MAX_PROBLEMS` of them."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.items: list[Problem] = []
        self.more = 0

    def add(self, message: str, path: str = "") -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(message, file=self.file, path=path))
        else:
            self.more += 1

    def rows(self, table: str, column: str, bad: np.ndarray, found: Sequence[Any], what: str):
        """One problem per bad row (the first few), located ``tables.T[i].C``."""
        idx = np.flatnonzero(bad)
        for i in idx[:5]:
            self.add(f"expected {what}; found {_short(found[i])}", f"tables.{table}[{i}].{column}")
        if len(idx) > 5:
            self.add(f"… and {len(idx) - 5} more rows like these", f"tables.{table}[*].{column}")

    def raise_if_any(self) -> None:
        if self.items:
            if self.more:
                self.items.append(
                    Problem(f"… and {self.more} more problems", file=self.file, path="")
                )
            raise InputError(list(self.items))


def _loc_path(loc: Iterable[Any]) -> str:
    """pydantic's ``loc`` as a JSON path; a table cell as ``tables.T[row].column``."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "tables":
        table = parts[1]
        rest = parts[2:]
        if len(rest) >= 2 and rest[0] == "columns":
            column = rest[1]
            tail = rest[2:]
            if tail and tail[0] in ("float", "int", "bool", "date", "str"):
                tail = tail[1:]  # the union's tag
            if len(tail) >= 2 and tail[0] == "values" and isinstance(tail[1], int):
                return f"tables.{table}[{tail[1]}].{column}"
            return _join(["tables", table, column, *tail])
        return _join(["tables", table, *rest])
    return _join(parts)


def _join(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and "function-after" in p:
            continue
        else:
            out += ("." if out else "") + str(p)
    return out


def _pydantic_problems(exc: PydanticValidationError, file: str | None, prefix: str = "") -> list:
    problems = []
    seen = set()
    for e in exc.errors(include_url=False):
        loc = _loc_path(e["loc"])
        path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        # a discriminated union reports the tag it expected; keep one message per path
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "union_tag_invalid":
            msg = "expected dtype float, int, bool, date or str"
        elif e["type"] in ("union_tag_not_found",):
            msg = "missing 'dtype' (float, int, bool, date or str)"
        elif e["type"] == "missing":
            msg = "missing (required)"
        elif e["type"] == "extra_forbidden":
            msg = "unknown key"
        found = e.get("input")
        if e["type"] not in ("missing", "extra_forbidden") and not isinstance(found, dict | list):
            msg = f"{msg}; found {_json_type(found)}"
        key = (path, msg)
        if key in seen:
            continue
        seen.add(key)
        problems.append(Problem(msg, file=file, path=path))
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems


def _huge_ints(obj: Any, path: str) -> list[str]:
    """JSON paths of integers beyond 64 bits in ``obj`` (pandas and numpy cannot hold them)."""
    found: list[str] = []
    stack = [(obj, path)]
    while stack and len(found) < 5:
        value, where = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and abs(value) > 2**63 - 1:
            found.append(where)
        elif isinstance(value, dict):
            stack.extend((v, f"{where}.{k}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
    return found
