"""Terminal tables: ids never cut, rows as lines of pairs when too wide, values by their unit."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console
from rich.table import Table

from hyperplan.cli.actuals import _cell, _table
from hyperplan.report.tables import print_table

ARN = "arn:aws:ec2:us-east-1:123456789012:reserved-instances/0123abcd-ef01-2345-6789-abcdef012345"


def _printed(table: Table, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_table(table, console)
    return console.file.getvalue()  # type: ignore[attr-defined]


def _commitments() -> Table:
    table = Table(title="Commitments")
    table.add_column("id", no_wrap=True)
    table.add_column("used_usd\n[USD]", justify="right", no_wrap=True)
    table.add_column("utilisation\n[%]", justify="right", no_wrap=True)
    table.add_column("external id", no_wrap=True)
    table.add_row(ARN, "91,642", "100.0%", "")
    return table


def test_a_table_that_fits_is_drawn_with_the_id_on_one_line() -> None:
    text = _printed(_commitments(), 200)
    assert ARN in text.splitlines()[5]  # title, top border, two header lines, rule, the row


def test_a_table_too_wide_becomes_one_line_of_pairs_per_row() -> None:
    text = _printed(_commitments(), 100)  # the table needs 133 columns
    assert max(len(line) for line in text.splitlines()) <= 100
    assert any(ARN in line for line in text.splitlines())  # wrapped at spaces: the id whole
    # the unit follows the value; a share already says %; the empty external id is left out
    flat = " ".join(text.split())
    assert flat == f"Commitments id {ARN}; used_usd 91,642 USD; utilisation 100.0%"


def test_cells_follow_their_unit() -> None:
    assert _cell(0.4152, "share") == "41.5%"
    assert _cell(1_509_617.28, "USD (EffectiveCost)") == "1,509,617"
    assert _cell(999.994, "USD") == "999.99"
    assert _cell(0.0, "USD (EffectiveCost)") == "0"
    assert _cell(1_837_747.38, "GPU-hours") == "1,837,747"
    assert _cell(153, "") == "153"
    assert _cell(2.5, "") == "2.5"
    assert _cell(float("nan"), "USD") == "–"
    assert _cell(ARN, "") == ARN


def test_the_focus_basis_of_a_unit_goes_to_the_caption_once() -> None:
    df = pd.DataFrame({"provider": ["aws"], "effective_usd": [1234.5], "coverage": [0.25]})
    df.attrs["units"] = {"effective_usd": "USD (EffectiveCost)", "coverage": "share"}
    table = _table("Coverage", df)
    assert [c.header for c in table.columns] == [
        "provider",
        "effective_usd\n[USD]",
        "coverage\n[%]",
    ]
    assert table.caption == "basis: effective_usd: EffectiveCost"
    assert [c._cells for c in table.columns] == [["aws"], ["1,234"], ["25.0%"]]
