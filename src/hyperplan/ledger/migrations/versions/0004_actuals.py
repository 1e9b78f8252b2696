"""Billing actuals: imported FOCUS files, their aggregated groups, ContractApplied amounts.

Revision ID: 0004_actuals
Revises: 0003_jobs
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_actuals"
down_revision = "0003_jobs"
branch_labels = None
depends_on = None

_TEXT = (
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
_NUMBERS = (
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


def upgrade() -> None:
    op.create_table(
        "actuals_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("first_month", sa.String(7), nullable=True),
        sa.Column("last_month", sa.String(7), nullable=True),
        sa.Column("unmapped", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("workspace_id", "sha256"),
    )
    op.create_index("ix_actuals_imports_workspace_id", "actuals_imports", ["workspace_id"])
    op.create_table(
        "actuals_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("actuals_imports.id"), nullable=False),
        *(sa.Column(c, sa.Text(), nullable=True) for c in _TEXT),
        *(sa.Column(c, sa.Float(), nullable=True) for c in _NUMBERS),
        sa.Column("last_start", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_actuals_groups_import_id", "actuals_groups", ["import_id"])
    op.create_table(
        "actuals_contract_use",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("actuals_imports.id"), nullable=False),
        sa.Column("month", sa.Text(), nullable=True),
        sa.Column("contract_id", sa.Text(), nullable=True),
        sa.Column("commitment_id", sa.Text(), nullable=True),
        sa.Column("usd", sa.Float(), nullable=True),
    )
    op.create_index("ix_actuals_contract_use_import_id", "actuals_contract_use", ["import_id"])


def downgrade() -> None:
    for table in ("actuals_contract_use", "actuals_groups", "actuals_imports"):
        op.drop_table(table)
