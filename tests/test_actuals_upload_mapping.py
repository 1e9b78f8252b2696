"""A user mapping sent with an upload (``?mapping=``): it maps a row the export alone does not
map, its faults are located 422s that store nothing, and ``hyperplan actuals import --server
--mapping`` sends it. Both backends (``ledger_db``).

The export: one on-demand usage row of AWS with the SkuId ``VM_LARGE`` (no catalog instance
type, no SkuPriceDetails): 2 hours, 50 USD. Unmapped it is one row "usage row without a known
GPU offer" of 50 USD; mapped to p5.48xlarge (8 H100 per instance, catalog) it is 2 × 8 = 16
GPU-hours and nothing is unmapped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

import hyperplan.cli.actuals as cli_actuals
import hyperplan.server.routes_actuals as routes_actuals
import ledger_db
import server_helpers
from cli_server_helpers import ROOT, Server, hyperplan, make_token
from hyperplan.ledger.actuals_store import ActualsGroup, list_imports
from server_helpers import OTHER, WS, bearer, client_for
from test_server_actuals import HEADER

db_url, ledger, postgres_url = ledger_db.db_url, ledger_db.ledger, ledger_db.postgres_url
tokens, uploads = server_helpers.tokens, server_helpers.uploads  # fixtures

ROW = "2027-01-02T00:00:00Z,Usage,Standard,50.00,50.00,,,AWS,VM_LARGE,2,Hours\n"
MAPPING = "column,value,instance_type\nSkuId,VM_LARGE,p5.48xlarge\n"
UNMAPPED = [{"reason": "usage row without a known GPU offer", "rows": 1, "effective_usd": 50.0}]


def _upload(client, token: str, workspace: str, mapping: str | None = None):
    params = {"filename": "sku.csv"} | ({"mapping": mapping} if mapping is not None else {})
    return client.post(
        f"/api/v1/{workspace}/actuals/imports",
        params=params,
        content=(HEADER + ROW).encode(),
        headers={**bearer(token), "Content-Type": "text/csv"},
    )


def _groups(ledger, workspace: str) -> list[tuple]:
    (record,) = list_imports(ledger, workspace)
    with ledger.transaction() as s:
        rows = s.execute(
            select(ActualsGroup.instance_type, ActualsGroup.gpu_hours, ActualsGroup.rows).where(
                ActualsGroup.import_id == record["id"]
            )
        ).all()
    return [tuple(r) for r in rows]


def test_the_mapping_maps_a_row_that_otherwise_maps_to_nothing(ledger, tokens, uploads) -> None:
    with client_for(ledger) as client:
        plain = _upload(client, tokens["other"], OTHER)  # the same bytes, another workspace
        mapped = _upload(client, tokens["planner"], WS, MAPPING)
    assert (plain.status_code, mapped.status_code) == (201, 201), (plain.json(), mapped.json())
    assert plain.json()["unmapped"] == UNMAPPED
    assert mapped.json()["unmapped"] == []
    assert [s["rows"] for s in mapped.json()["stored"]] == [1]
    assert _groups(ledger, OTHER) == [(None, 0.0, 1.0)]
    assert _groups(ledger, WS) == [("p5.48xlarge", 16.0, 1.0)]
    assert list(uploads.iterdir()) == []


def test_a_retry_with_another_mapping_is_not_a_replay(ledger, tokens, uploads) -> None:
    key = {"Idempotency-Key": "k-1"}
    with client_for(ledger) as client:
        first = client.post(
            f"/api/v1/{WS}/actuals/imports",
            params={"filename": "sku.csv", "mapping": MAPPING},
            content=(HEADER + ROW).encode(),
            headers={**bearer(tokens["planner"]), "Content-Type": "text/csv", **key},
        )
        again = client.post(
            f"/api/v1/{WS}/actuals/imports",
            params={"filename": "sku.csv", "mapping": MAPPING.replace("p5", "p4d")},
            content=(HEADER + ROW).encode(),
            headers={**bearer(tokens["planner"]), "Content-Type": "text/csv", **key},
        )
    assert first.status_code == 201
    assert again.status_code == 422 and "Idempotency-Key" in again.json()["message"]


@pytest.mark.parametrize(
    ("mapping", "where"),
    [
        (
            "column,value,instance_type\nColour,VM_LARGE,p5.48xlarge\n",
            ("query.mapping", 2, "column"),
        ),
        ("column,value,instance_type\nSkuId,,p5.48xlarge\n", ("query.mapping", 2, "")),
        ("a,b\nSkuId,VM_LARGE\n", ("query.mapping", 1, "")),
        ("column,value,instance_type\n" + "SkuId,x,y\n" * 900, ("query", None, "query.mapping")),
    ],
    ids=["column", "empty", "header", "too-long"],
)
def test_a_bad_mapping_is_a_located_422_and_stores_nothing(
    ledger, tokens, uploads, mapping: str, where: tuple
) -> None:
    with client_for(ledger) as client:
        r = _upload(client, tokens["planner"], WS, mapping)
    assert r.status_code == 422, r.json()
    assert [(p["file"], p["line"], p["path"] or "") for p in r.json()["problems"]] == [where]
    assert list_imports(ledger, WS) == []
    assert list(uploads.iterdir()) == []


def test_the_cli_and_the_server_agree_on_the_upload_constants() -> None:
    assert cli_actuals.MAPPING_MAX_BYTES == routes_actuals.MAPPING_MAX_BYTES
    assert cli_actuals.MAPPING_FILE == routes_actuals.MAPPING_FILE
    for suffix, media in cli_actuals.UPLOAD_TYPES.items():
        assert media in routes_actuals.KINDS[suffix]
    assert list(cli_actuals.UPLOAD_TYPES) == list(routes_actuals.KINDS)


def test_remote_import_sends_the_mapping(db_url: str, tmp_path: Path) -> None:
    bills = tmp_path / "bills"
    bills.mkdir()
    (bills / "sku.csv").write_text(HEADER + ROW)
    good, bad = tmp_path / "map.csv", tmp_path / "bad.csv"
    good.write_text(MAPPING)
    bad.write_text("column,value,instance_type\nColour,VM_LARGE,p5.48xlarge\n")
    token = make_token(db_url, ROOT, role="planner")
    server = Server(db_url, ROOT)
    try:
        env = {"HYPERPLAN_TOKEN": token}
        refused = hyperplan(
            "actuals", "import", str(bills), "--mapping", str(bad), "--server", server.url,
            cwd=ROOT, **env,
        )  # fmt: skip
        assert refused.returncode == 2, refused.stderr
        assert f"{bad}:2" in refused.stderr and "Colour" in refused.stderr
        done = hyperplan(
            "actuals", "import", str(bills), "--mapping", str(good), "--server", server.url,
            "--json", cwd=ROOT, **env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        assert doc["unmapped"] == [] and [s["path"] for s in doc["stored"]] == ["sku.csv"]
        assert doc["stored"][0]["author"] == "ann"
        again = hyperplan("actuals", "import", str(bills), "--server", server.url, cwd=ROOT, **env)
        assert again.returncode == 0, again.stderr
        assert "sku.csv: already imported" in again.stderr
        assert again.stdout.strip().endswith(f"server {server.url}, workspace {WS}")
    finally:
        server.stop()
    from hyperplan.ledger.db import open_ledger

    opened = open_ledger(db_url)
    try:
        assert _groups(opened, WS) == [("p5.48xlarge", 16.0, 1.0)]
    finally:
        opened.dispose()
