"""hyperplan's version, in the lowest layer so any package may record it (plan.json, the ledger,
the report) without importing the package's public face (``hyperplan/__init__.py``)."""

from __future__ import annotations

__version__ = "0.1.0"
