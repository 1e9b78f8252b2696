"""The reader's routes agree: the typed CSV route (numbers and dates parsed by DuckDB's CSV
reader), the plain-parse route (Parquet) and the full text route (spreadsheet money, US dates,
located faults) give the same groups; a value only the full route understands still reads."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

import hyperplan.actuals.reader as reader
from hyperplan.actuals import read_focus
from hyperplan.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from actuals_import import generate  # noqa: E402

COLUMNS = (
    "_file, provider, region, charge_category, pricing_category, market, commitment_id, "
    "commitment_status, instance_type, month"
)
SUMS = "rows, billed_usd, effective_usd, list_usd, consumed_quantity, gpu_hours, last_start"


def _groups(path: Path, monkeypatch: pytest.MonkeyPatch, *, full: bool) -> list[tuple]:
    with monkeypatch.context() as m:
        if full:
            m.setattr(reader, "_fast_groups", lambda *a: True)
        fr = read_focus(path)
        return fr.con.execute(f"SELECT {COLUMNS}, {SUMS} FROM focus ORDER BY {COLUMNS}").fetchall()


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("routes") / "focus.csv"
    generate(path, 20_000)
    return path


def _same(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b) > 100
    for x, y in zip(a, b, strict=True):
        assert x[:10] == y[:10]
        for u, v in zip(x[10:], y[10:], strict=True):
            assert u == pytest.approx(v, rel=1e-12, abs=1e-9) if isinstance(u, float) else u == v


def test_typed_csv_route_equals_the_full_route(export: Path, monkeypatch) -> None:
    taken = []
    real = reader._fast_groups
    monkeypatch.setattr(reader, "_fast_groups", lambda *a: taken.append(real(*a)) or taken[-1])
    read_focus(export)
    monkeypatch.undo()
    assert taken == [False]  # the typed route read every value: no fallback
    _same(_groups(export, monkeypatch, full=False), _groups(export, monkeypatch, full=True))


def test_parquet_plain_route_equals_the_csv_full_route(export: Path, tmp_path, monkeypatch) -> None:
    pq = tmp_path / "focus.parquet"
    duckdb.execute(
        f"COPY (SELECT * FROM read_csv('{export}', header=true, all_varchar=true)) TO '{pq}'"
    )
    fast = [(str(export), *r[1:]) for r in _groups(pq, monkeypatch, full=False)]
    _same(fast, _groups(export, monkeypatch, full=True))


def test_spreadsheet_money_falls_back_to_the_full_route(tmp_path) -> None:
    p = tmp_path / "m.csv"
    p.write_text(
        "ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost\n"
        '2027-01-01T00:00:00Z,Usage,"$10,100.00 ",1.5\n'
        "2027-01-02T00:00:00Z,Usage,2.25,2.25\n"
    )
    fr = read_focus(p)
    got = fr.con.execute("SELECT sum(billed_usd), sum(effective_usd) FROM focus").fetchone()
    assert got == (10_102.25, 3.75)


def test_an_infinite_cost_is_still_located(tmp_path) -> None:
    p = tmp_path / "inf.csv"
    p.write_text(
        "ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost\n"
        "2027-01-01T00:00:00Z,Usage,1,1\n"
        "2027-01-01T00:00:00Z,Usage,inf,1\n"
    )
    with pytest.raises(InputError) as exc:
        read_focus(p)
    text = str(exc.value)
    assert "inf.csv:3" in text and "BilledCost" in text


def _taken(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Which route read_focus takes for ``path``: [False] = typed, [True] = full."""
    taken: list[bool] = []
    real = reader._fast_groups
    with monkeypatch.context() as m:
        m.setattr(reader, "_fast_groups", lambda *a: taken.append(real(*a)) or taken[-1])
        read_focus(path)
    return taken


def test_typed_parquet_route_equals_the_csv_full_route(export: Path, tmp_path, monkeypatch) -> None:
    """A Parquet export stored typed (TIMESTAMP, TIMESTAMPTZ, DOUBLE, DECIMAL, BIGINT) is read
    as stored, with no text pass, and gives the groups the CSV's full text route gives."""
    pq = tmp_path / "typed.parquet"
    duckdb.execute(
        f"""COPY (SELECT * REPLACE (
            CAST(ChargePeriodStart AS TIMESTAMP) AS ChargePeriodStart,
            CAST(ChargePeriodEnd || '' AS TIMESTAMPTZ) AS ChargePeriodEnd,
            CAST(BilledCost AS DOUBLE) AS BilledCost,
            CAST(EffectiveCost AS DECIMAL(18, 6)) AS EffectiveCost,
            CAST(ListCost AS DOUBLE) AS ListCost,
            CAST(round(CAST(ConsumedQuantity AS DOUBLE) * 10) AS BIGINT) / 10
                AS ConsumedQuantity)
        FROM read_csv('{export}', header=true, all_varchar=true)) TO '{pq}'"""
    )
    types = {r[0]: r[1] for r in duckdb.execute(f"DESCRIBE SELECT * FROM '{pq}'").fetchall()}
    assert types["ChargePeriodStart"] == "TIMESTAMP" and types["EffectiveCost"] == "DECIMAL(18,6)"
    assert types["ChargePeriodEnd"] == "TIMESTAMP WITH TIME ZONE"
    assert _taken(pq, monkeypatch) == [False]  # every value read as stored: no fallback
    fast = [(str(export), *r[1:]) for r in _groups(pq, monkeypatch, full=False)]
    _same(fast, _groups(export, monkeypatch, full=True))


def test_parquet_text_the_plain_parse_cannot_read_takes_the_full_route(
    tmp_path, monkeypatch
) -> None:
    """Parquet text columns are parsed plainly; spreadsheet money or a US date there sends the
    read to the full route, which reads them (the same answer as from a CSV)."""
    pq = tmp_path / "text.parquet"
    duckdb.execute(
        f"""COPY (SELECT * FROM (VALUES
            ('2027-01-01T00:00:00Z', 'Usage', '$10,100.00 ', 1.5),
            ('1/2/27', 'Usage', '2.25', 2.25),
            ('null', 'Usage', '1', 1.0)
        ) t(ChargePeriodStart, ChargeCategory, BilledCost, EffectiveCost)) TO '{pq}'"""
    )
    with pytest.raises(InputError) as exc:  # the 'null' ChargePeriodStart is located
        read_focus(pq)
    assert "text.parquet:4" in str(exc.value) and "ChargePeriodStart" in str(exc.value)
    pq2 = tmp_path / "text2.parquet"
    duckdb.execute(f"COPY (SELECT * FROM '{pq}' WHERE ChargePeriodStart <> 'null') TO '{pq2}'")
    assert _taken(pq2, monkeypatch) == [True]
    fr = read_focus(pq2)
    got = fr.con.execute(
        "SELECT sum(billed_usd), sum(effective_usd), min(month), max(month) FROM focus"
    ).fetchone()
    assert got == (10_102.25, 3.75, "2027-01", "2027-01")
