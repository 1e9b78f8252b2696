"""The commitment ledger as CSV or JSON text: one format for ``hyperplan ledger --format`` and
the server's ``/commitments/export``."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

COLUMNS = (
    "id",
    "state",
    "kind",
    "provider",
    "region",
    "offer",
    "accelerator",
    "term_years",
    "start",
    "end",
    "quantity",
    "usd_per_hour",
    "value_usd",
    "contract",
    "external_id",
)
"""Columns of a commitment export, in order (records of
:func:`hyperplan.ledger.api.list_commitments`; ``quantity`` in instances, ``usd_per_hour`` USD per
instance-hour, ``value_usd`` the whole-term value in USD)."""


def export_rows(rows: list[dict[str, Any]], fmt: Literal["csv", "json"]) -> str:
    """``rows`` as CSV (the :data:`COLUMNS`, empty for None) or JSON (every key) text."""
    if fmt == "json":
        return json.dumps(rows, indent=1) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if r.get(k) is None else r[k] for k in COLUMNS})
    return buf.getvalue()
