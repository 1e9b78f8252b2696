"""Actuals: FOCUS billing exports read with DuckDB, mapped to hyperplan's world, and answered.

``read_focus(paths) -> FocusFrame`` (storage-independent), then the answers in
:mod:`hyperplan.actuals.answers`: reservation utilisation and waste, coverage, plan vs actual,
contract burn-down. :mod:`hyperplan.actuals.focus_writer` writes a simulated trial as FOCUS.
Layer: above plan/sim/catalog (and the ledger); never imported by them.
"""

from hyperplan.actuals.mapping import Mapping, load_mapping
from hyperplan.actuals.reader import FocusFrame, read_focus

__all__ = ["FocusFrame", "Mapping", "load_mapping", "read_focus"]
