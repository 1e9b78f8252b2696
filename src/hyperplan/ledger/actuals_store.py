"""Billing actuals stored in the ledger: one row per imported FOCUS file and its aggregated groups.

``hyperplan actuals import`` reads FOCUS exports (:mod:`hyperplan.actuals.reader`), sums their
rows by the keys the answers need, and stores here, in one transaction:

- :class:`ActualsImport`: one row per file (its name, the SHA-256 of its bytes, FOCUS rows read,
  the months it covers, rows that map to nothing by reason, who imported it and when);
- :class:`ActualsGroup`: the file's rows summed by provider, region, market, commitment,
  instance type, month, ... (the ``focus`` table of the reader; never the raw rows);
- :class:`ActualsContractUse`: FOCUS 1.3 ``ContractApplied`` amounts by month and contract.

A file whose hash the workspace already holds is not stored again (the caller says so). An
import writes one audit row per file; it does not bump the ledger version (it changes no
commitment or contract, so a plan made ``--from-ledger`` before it stays adoptable).

This module knows DataFrames and the database only (the ledger sits below the actuals layer).
Money is USD; quantities as in FOCUS (ConsumedQuantity in its unit); GPU-hours.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from hyperplan.ledger.audit import workspace_for_write, write_audit
from hyperplan.ledger.db import Ledger
from hyperplan.ledger.errors import LedgerError
from hyperplan.ledger.models import Base, Workspace, utcnow

GROUP_TEXT = (
    "provider",
    "region",
    "charge_category",
    "charge_frequency",
    "pricing_category",
    "market",
    "commitment_id",
    "commitment_status",
    "commitment_category",
    "billing_currency",
    "instance_type",
    "consumed_unit",
    "month",
)
"""Key columns of a stored group (text; NULL when the bill does not say or it maps to nothing)."""
GROUP_NUMBERS = (
    "gpus_per_instance",
    "end_unreadable_rows",
    "rows",
    "billed_usd",
    "effective_usd",
    "list_usd",
    "contracted_usd",
    "consumed_quantity",
    "commitment_quantity",
    "gpu_hours",
)
"""Summed columns of a stored group: USD, FOCUS quantities, GPU-hours, row counts."""
CHUNK_BYTES = 8 * 1024**2
"""Bytes read at a time while hashing a file."""


class ActualsImport(Base):
    """One imported FOCUS file: what it was, what it held, who brought it and when."""

    __tablename__ = "actuals_imports"
    __table_args__ = (UniqueConstraint("workspace_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    first_month: Mapped[str | None] = mapped_column(String(7))
    last_month: Mapped[str | None] = mapped_column(String(7))
    unmapped: Mapped[dict[str, Any]] = mapped_column(JSON)
    warnings: Mapped[list[str]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ActualsGroup(Base):
    """FOCUS rows of one import summed by their mapped keys (see :data:`GROUP_TEXT`)."""

    __tablename__ = "actuals_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("actuals_imports.id"), index=True)
    provider: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    charge_category: Mapped[str | None] = mapped_column(Text)
    charge_frequency: Mapped[str | None] = mapped_column(Text)
    pricing_category: Mapped[str | None] = mapped_column(Text)
    market: Mapped[str | None] = mapped_column(Text)
    commitment_id: Mapped[str | None] = mapped_column(Text)
    commitment_status: Mapped[str | None] = mapped_column(Text)
    commitment_category: Mapped[str | None] = mapped_column(Text)
    billing_currency: Mapped[str | None] = mapped_column(Text)
    instance_type: Mapped[str | None] = mapped_column(Text)
    consumed_unit: Mapped[str | None] = mapped_column(Text)
    month: Mapped[str | None] = mapped_column(Text)
    gpus_per_instance: Mapped[float | None] = mapped_column(Float)
    end_unreadable_rows: Mapped[float | None] = mapped_column(Float)
    rows: Mapped[float | None] = mapped_column(Float)
    billed_usd: Mapped[float | None] = mapped_column(Float)
    effective_usd: Mapped[float | None] = mapped_column(Float)
    list_usd: Mapped[float | None] = mapped_column(Float)
    contracted_usd: Mapped[float | None] = mapped_column(Float)
    consumed_quantity: Mapped[float | None] = mapped_column(Float)
    commitment_quantity: Mapped[float | None] = mapped_column(Float)
    gpu_hours: Mapped[float | None] = mapped_column(Float)
    last_start: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ActualsContractUse(Base):
    """FOCUS 1.3 ``ContractApplied`` amounts of one import by month and contract, USD."""

    __tablename__ = "actuals_contract_use"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("actuals_imports.id"), index=True)
    month: Mapped[str | None] = mapped_column(Text)
    contract_id: Mapped[str | None] = mapped_column(Text)
    commitment_id: Mapped[str | None] = mapped_column(Text)
    usd: Mapped[float | None] = mapped_column(Float)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of the file's bytes, hex (read in :data:`CHUNK_BYTES` chunks)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class FileImport:
    """One file to store: its path, hash, FOCUS rows, groups, contract amounts and unmapped rows.

    ``groups`` has the columns :data:`GROUP_TEXT` + :data:`GROUP_NUMBERS` + ``last_start``;
    ``contracts`` month, contract_id, commitment_id, usd; ``unmapped`` maps a reason to
    ``{"rows": int, "effective_usd": float}``.
    """

    path: str
    sha256: str
    rows: int
    groups: pd.DataFrame
    contracts: pd.DataFrame
    unmapped: dict[str, dict[str, float]]
    warnings: list[str]


def known_imports(ledger: Ledger, workspace: str, hashes: list[str]) -> dict[str, dict[str, Any]]:
    """Imports the workspace already holds among ``hashes``: sha256 → import record."""
    if not hashes:
        return {}
    with ledger.transaction() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == workspace))
        if ws is None:
            return {}
        q = select(ActualsImport).where(
            ActualsImport.workspace_id == ws.id, ActualsImport.sha256.in_(sorted(set(hashes)))
        )
        return {r.sha256: import_record(r) for r in s.scalars(q)}


def import_record(r: ActualsImport) -> dict[str, Any]:
    """An import as plain JSON values."""
    return {
        "id": r.id,
        "path": r.path,
        "sha256": r.sha256,
        "rows": r.rows,
        "first_month": r.first_month,
        "last_month": r.last_month,
        "unmapped": r.unmapped,
        "warnings": r.warnings,
        "author": r.author,
        "imported_at": r.imported_at.isoformat(),
    }


def _column_values(col: pd.Series) -> list[Any]:
    """One column as plain Python values for the database driver: datetimes naive, numbers
    float with NaN and infinities → None, text with missing values → None. Vectorised per
    column (numpy), no Python loop over the values."""
    if pd.api.types.is_datetime64_any_dtype(col):
        naive = col.dt.tz_localize(None) if col.dt.tz is not None else col
        # the array's method: Series.dt.to_pydatetime warns (FutureWarning) on pandas 2.1-2.x
        out = np.array(naive.array.to_pydatetime(), dtype=object)  # a writable copy
        out[naive.isna().to_numpy()] = None
        return out.tolist()
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        arr = col.to_numpy(dtype=float, na_value=np.nan)
        out = arr.astype(object)
        out[~np.isfinite(arr)] = None
        return out.tolist()
    out = col.astype(object).to_numpy(dtype=object, copy=True)  # text: None/NaN → None
    out[pd.isna(out)] = None
    return out.tolist()


def _records(df: pd.DataFrame, columns: tuple[str, ...], import_id: int) -> list[dict[str, Any]]:
    """DataFrame rows (groups, not billing rows) as insert parameters; NaN → NULL.

    Converted column by column (:func:`_column_values`); the rows are only zipped into dicts."""
    out = df.reindex(columns=list(columns))
    names = ("import_id", *columns)
    values = [[import_id] * len(out), *(_column_values(out[c]) for c in columns)]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def store_imports(
    ledger: Ledger,
    files: list[FileImport],
    *,
    workspace: str,
    author: str,
    before_commit: Callable[[Session, int, list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Store every file of ``files`` in one transaction (all or nothing); their records.

    ``before_commit(session, workspace_id, records)`` runs inside the transaction after the
    files are stored (e.g. to record an Idempotency-Key's answer); what it raises rolls back.

    Raises:
        LedgerError: a file's hash was stored meanwhile by another writer (nothing is stored).
    """
    from sqlalchemy import insert

    out = []
    with ledger.transaction() as s:
        ws = workspace_for_write(s, workspace)
        for f in files:
            months = sorted(m for m in f.groups["month"].dropna().astype(str).unique())
            row = ActualsImport(
                workspace_id=ws.id,
                path=f.path,
                sha256=f.sha256,
                rows=int(f.rows),
                first_month=months[0] if months else None,
                last_month=months[-1] if months else None,
                unmapped=f.unmapped,
                warnings=list(f.warnings),
                author=author,
                imported_at=utcnow(),
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError:
                raise LedgerError(
                    f"{f.path} (sha256 {f.sha256[:12]}…) was imported by another writer "
                    "meanwhile: nothing was stored; run the import again"
                ) from None
            cols = (*GROUP_TEXT, *GROUP_NUMBERS, "last_start")
            groups = _records(f.groups, cols, row.id)
            if groups:
                s.execute(insert(ActualsGroup.__table__), groups)
            uses = _records(f.contracts, ("month", "contract_id", "commitment_id", "usd"), row.id)
            if uses:
                s.execute(insert(ActualsContractUse.__table__), uses)
            record = import_record(row)
            record["groups"] = len(groups)
            write_audit(
                s,
                ws,
                ws.ledger_version,
                author,
                "import",
                "actuals_import",
                row.id,
                None,
                {k: record[k] for k in ("path", "sha256", "rows", "first_month", "last_month")},
            )
            out.append(record)
        if before_commit is not None:
            before_commit(s, ws.id, out)
    return out


def list_imports(ledger: Ledger, workspace: str) -> list[dict[str, Any]]:
    """The workspace's imports, oldest first."""
    with ledger.transaction() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == workspace))
        if ws is None:
            return []
        q = (
            select(ActualsImport)
            .where(ActualsImport.workspace_id == ws.id)
            .order_by(ActualsImport.id)
        )
        return [import_record(r) for r in s.scalars(q)]


def load_actuals(
    ledger: Ledger, workspace: str
) -> tuple[list[dict[str, Any]], pd.DataFrame, pd.DataFrame]:
    """Every stored import of ``workspace``: the records, their groups (``_file`` = the import's
    path) and their ContractApplied amounts."""
    imports = list_imports(ledger, workspace)
    ids = [r["id"] for r in imports]
    cols = [getattr(ActualsGroup, c) for c in (*GROUP_TEXT, *GROUP_NUMBERS, "last_start")]
    with ledger.transaction() as s:
        g = s.execute(
            select(ActualsGroup.import_id, *cols)
            .where(ActualsGroup.import_id.in_(ids))
            .order_by(ActualsGroup.id)
        ).all()
        c = s.execute(
            select(
                ActualsContractUse.month,
                ActualsContractUse.contract_id,
                ActualsContractUse.commitment_id,
                ActualsContractUse.usd,
            )
            .where(ActualsContractUse.import_id.in_(ids))
            .order_by(ActualsContractUse.id)
        ).all()
    groups = pd.DataFrame(
        g, columns=["import_id", *GROUP_TEXT, *GROUP_NUMBERS, "last_start"], dtype=object
    )
    paths = {r["id"]: r["path"] for r in imports}
    groups.insert(0, "_file", groups["import_id"].map(paths))
    contracts = pd.DataFrame(c, columns=["month", "contract_id", "commitment_id", "usd"])
    return imports, groups.drop(columns="import_id"), contracts
