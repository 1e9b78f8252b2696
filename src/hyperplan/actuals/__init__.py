"""Actuals: FOCUS billing exports read with DuckDB, mapped to hyperplan's world, and answered.

``read_focus(paths) -> FocusFrame`` (storage-independent), then the answers in
:mod:`hyperplan.actuals.answers`: reservation utilisation and waste, coverage, plan vs actual,
contract burn-down. :mod:`hyperplan.actuals.focus_writer` writes a simulated trial as FOCUS.
Layer: above plan/sim/catalog (and the ledger); never imported by them. The names below load
on first use, so ``hyperplan --help`` does not import DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hyperplan.actuals.mapping import Mapping, load_mapping
    from hyperplan.actuals.reader import FocusFrame, read_focus

__all__ = ["FocusFrame", "Mapping", "load_mapping", "read_focus"]
_HOME = {
    "FocusFrame": "reader",
    "read_focus": "reader",
    "Mapping": "mapping",
    "load_mapping": "mapping",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        from importlib import import_module

        return getattr(import_module(f"hyperplan.actuals.{_HOME[name]}"), name)
    raise AttributeError(name)
