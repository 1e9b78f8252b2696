"""FOCUS actuals into and out of the ledger: ``import_files`` and ``frame_from_ledger``.

``import_files`` hashes each file (SHA-256 of its bytes), skips the ones the workspace already
holds, reads the rest with :func:`~hyperplan.actuals.reader.read_focus` (one DuckDB pass) and
stores each file's aggregated groups with :func:`hyperplan.ledger.actuals_store.store_imports`
in one transaction: a bad file anywhere means nothing is stored. ``frame_from_ledger`` rebuilds
a :class:`~hyperplan.actuals.reader.FocusFrame` from the stored groups, so every answer of
:mod:`hyperplan.actuals.answers` runs on the ledger as on the files (except
:meth:`FocusFrame.rows_frame`, which needs the raw rows: the ledger keeps only the groups).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hyperplan.actuals.mapping import Mapping
    from hyperplan.actuals.reader import FocusFrame
    from hyperplan.ledger.db import Ledger


@dataclass
class ImportResult:
    """What an import did: files stored (their records) and files skipped as already imported."""

    stored: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    """One per file already in the ledger: ``path`` given now and the ``previous`` import."""
    warnings: list[str] = field(default_factory=list)
    unmapped: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: schema, stored, skipped, warnings, unmapped rows by reason."""
        return {
            "schema": "hyperplan.actuals-import/1",
            "stored": self.stored,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "unmapped": [
                {
                    "reason": str(r.reason),
                    "rows": int(r.rows),
                    "effective_usd": float(r.effective_usd),
                }
                for r in self.unmapped.itertuples()
            ],
        }


_UNMAPPED_BY_FILE = """
SELECT _file, reason, sum(n)::BIGINT AS rows, coalesce(sum(effective_usd), 0) AS effective_usd
FROM (
    SELECT _file, 'provider not recognised' AS reason, rows AS n, effective_usd FROM focus
        WHERE provider IS NULL
    UNION ALL
    SELECT _file, 'usage row without a known GPU offer', rows, effective_usd FROM focus
        WHERE charge_category = 'Usage' AND gpus_per_instance IS NULL
    UNION ALL
    SELECT _file, 'PricingCategory not Standard/Committed/Dynamic', rows, effective_usd
        FROM focus WHERE charge_category = 'Usage' AND market IS NULL
) GROUP BY ALL ORDER BY _file, reason
"""


def import_files(
    paths: list[str | Path],
    ledger: Ledger,
    *,
    workspace: str,
    author: str,
    mapping: Mapping | None = None,
    labels: dict[Path, str] | None = None,
    before_commit: Callable[[Session, int, ImportResult], None] | None = None,
) -> ImportResult:
    """Read the FOCUS exports at ``paths`` and store the ones not yet imported (all or nothing).

    Args:
        labels: the name each file gets in the ledger and in located problems, by its path
            (default: the path as given; the server names an uploaded temp file as its client
            did).
        before_commit: ``before_commit(session, workspace_id, result)`` runs in the storing
            transaction once ``result.stored`` is known (the server records its answer to an
            Idempotency-Key there); not called when nothing is stored.

    Raises:
        InputError: a path is not a readable export, or a value is bad (located; nothing stored).
        LedgerError: the database refused the write (nothing stored).
    """
    from hyperplan.actuals.reader import expand_paths, read_focus
    from hyperplan.errors import InputError
    from hyperplan.ledger.actuals_store import (
        GROUP_NUMBERS,
        GROUP_TEXT,
        FileImport,
        file_sha256,
        known_imports,
        store_imports,
    )

    names = {Path(k): v for k, v in (labels or {}).items()}

    def label(f: Path) -> str:
        return names.get(f, str(f))

    try:
        files = expand_paths(list(paths))
    except InputError as exc:
        raise _relabelled(exc, names) from None
    # hashlib releases the GIL on large chunks: files are hashed side by side, one per core
    with ThreadPoolExecutor(max_workers=max(1, min(len(files), os.cpu_count() or 1))) as pool:
        hashes = dict(zip(files, pool.map(file_sha256, files), strict=True))
    known = known_imports(ledger, workspace, list(hashes.values()))
    result = ImportResult()
    todo: list[Path] = []
    seen: dict[str, Path] = {}
    for f, h in hashes.items():
        if h in known:
            result.skipped.append({"path": label(f), "sha256": h, "previous": known[h]})
        elif h in seen:  # the same bytes twice in one import (a copy): counted once
            result.skipped.append(
                {"path": label(f), "sha256": h, "previous": {"path": label(seen[h])}}
            )
        else:
            seen[h] = f
            todo.append(f)
    if not todo:
        return result
    try:
        frame = read_focus(todo, mapping)
    except InputError as exc:
        raise _relabelled(exc, names) from None
    result.warnings = frame.warnings
    result.unmapped = frame.unmapped
    con = frame.con
    cols = ", ".join([*GROUP_TEXT, *GROUP_NUMBERS, "last_start"])
    groups = con.execute(f"SELECT _file, {cols} FROM focus ORDER BY ALL").df()
    uses = con.execute(
        "SELECT _file, month, contract_id, commitment_id, usd FROM focus_contracts ORDER BY ALL"
    ).df()
    rows_by_file = dict(
        con.execute("SELECT _file, sum(rows)::BIGINT FROM focus GROUP BY _file").fetchall()
    )
    unmapped = con.execute(_UNMAPPED_BY_FILE).df()
    items = []
    for f in todo:  # files, not rows
        key = str(f)
        g = groups[groups["_file"] == key].drop(columns="_file")
        um = unmapped[unmapped["_file"] == key]
        items.append(
            FileImport(
                path=label(f),
                sha256=hashes[f],
                rows=int(rows_by_file.get(key, 0)),
                groups=g,
                contracts=uses[uses["_file"] == key].drop(columns="_file"),
                unmapped={
                    str(r.reason): {"rows": int(r.rows), "effective_usd": float(r.effective_usd)}
                    for r in um.itertuples()
                },
                warnings=[],
            )
        )

    def hook(session: Session, workspace_id: int, stored: list[dict[str, Any]]) -> None:
        result.stored = stored
        if before_commit is not None:
            before_commit(session, workspace_id, result)

    result.stored = store_imports(
        ledger, items, workspace=workspace, author=author, before_commit=hook
    )
    return result


def _relabelled(exc: Exception, names: dict[Path, str]) -> Exception:
    """``exc`` (an InputError) with each labelled path replaced by its label, in the problems'
    files and messages (a DuckDB message may quote the path)."""
    from hyperplan.errors import InputError

    if not names or not isinstance(exc, InputError):
        return exc
    swaps = sorted(((str(k), v) for k, v in names.items()), key=lambda kv: -len(kv[0]))

    def swap(text: str | None) -> str | None:
        if text is None:
            return None
        for old, new in swaps:  # longest first: a path never hides inside a shorter one
            text = text.replace(old, new)
        return text

    return InputError(
        [replace(p, file=swap(p.file), message=swap(p.message) or "") for p in exc.problems]
    )


def frame_from_ledger(ledger: Ledger, workspace: str) -> FocusFrame:
    """The stored actuals of ``workspace`` as a FocusFrame (table ``focus`` and
    ``focus_contracts`` rebuilt from the ledger's groups).

    Raises:
        InputError: the workspace holds no imported actuals.
    """
    from hyperplan.actuals.reader import FocusFrame, _unmapped, _warnings
    from hyperplan.errors import InputError, Problem
    from hyperplan.ledger.actuals_store import GROUP_NUMBERS, GROUP_TEXT, load_actuals

    imports, groups, uses = load_actuals(ledger, workspace)
    if not imports:
        raise InputError(
            [
                Problem(
                    f"the ledger ({ledger.where}, workspace {workspace}) holds no imported "
                    "actuals: run hyperplan actuals import BILLS first, or give the bills"
                )
            ]
        )
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    text = ", ".join(f"{c} VARCHAR" for c in ("_file", "_bad", *GROUP_TEXT))
    nums = ", ".join(f"{c} DOUBLE" for c in GROUP_NUMBERS)
    con.execute(f"CREATE TABLE focus ({text}, {nums}, last_start TIMESTAMP)")
    if len(groups):
        g = groups.copy()
        g.insert(1, "_bad", "")
        g["last_start"] = pd.to_datetime(g["last_start"])
        for c in GROUP_NUMBERS:
            g[c] = pd.to_numeric(g[c], errors="coerce").astype(float)
        for c in ("_file", "_bad", *GROUP_TEXT):
            g[c] = g[c].astype(object).where(g[c].notna(), None)
        con.register("hp_groups", g)
        con.execute("INSERT INTO focus BY NAME SELECT * FROM hp_groups")
        con.unregister("hp_groups")
    con.execute(
        "CREATE TABLE focus_contracts (_file VARCHAR, month VARCHAR, contract_id VARCHAR, "
        "commitment_id VARCHAR, usd DOUBLE)"
    )
    if len(uses):
        u = uses.astype(object).where(uses.notna(), None)
        con.register("hp_uses", u)
        con.execute("INSERT INTO focus_contracts BY NAME SELECT * FROM hp_uses")
        con.unregister("hp_uses")
    rows = int(con.execute("SELECT coalesce(sum(rows), 0) FROM focus").fetchone()[0])
    frame = FocusFrame(con=con, files=[Path(r["path"]) for r in imports], rows=rows)
    frame.unmapped = _unmapped(con)
    frame.warnings = _warnings(con, frame.unmapped)
    return frame
