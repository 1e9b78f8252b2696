"""Reading the type annotations of the scenario models: wrappers stripped, union members listed.

Shared by the loader (which walks pydantic's error locations through the types) and the checker
(which finds the series fields); neither imports the other for it.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["is_model", "strip_optional", "union_members"]


def strip_optional(tp: Any) -> Any:
    """``tp`` without its ``Annotated`` and ``Optional`` wrappers (``Annotated[X, ...] | None``
    -> ``X``); a union of two or more types stays a union."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def union_members(tp: Any) -> list[Any] | None:
    """The members of a union type (``None`` left out, each stripped), or ``None`` for a type
    that is not a union."""
    if get_origin(tp) in (Union, types.UnionType):
        return [strip_optional(a) for a in get_args(tp) if a is not type(None)]
    return None


def is_model(tp: Any) -> bool:
    """Whether ``tp`` is a pydantic model class."""
    return isinstance(tp, type) and issubclass(tp, BaseModel)
