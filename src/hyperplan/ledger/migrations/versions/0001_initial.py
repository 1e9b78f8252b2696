"""The initial ledger: workspaces, scenario versions, plan runs, adoptions, contracts,
commitments and the append-only audit log (UPDATE and DELETE refused by triggers).

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY = "the audit log is append-only"


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _workspace() -> sa.Column:
    return sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspaces.id"), nullable=False)


def _created() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "workspaces",
        _id(),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("ledger_version", sa.Integer(), nullable=False),
        _created(),
    )
    op.create_table(
        "scenario_versions",
        _id(),
        _workspace(),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        _created(),
        sa.UniqueConstraint("workspace_id", "sha256"),
    )
    op.create_table(
        "plan_runs",
        _id(),
        _workspace(),
        sa.Column(
            "scenario_version_id",
            sa.Integer(),
            sa.ForeignKey("scenario_versions.id"),
            nullable=True,
        ),
        sa.Column("catalog_version", sa.String(40), nullable=False),
        sa.Column("catalog_sha256", sa.String(64), nullable=False),
        sa.Column("solver_version", sa.String(40), nullable=False),
        sa.Column("hyperplan_version", sa.String(40), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(80), nullable=False),
        sa.Column("from_ledger_version", sa.Integer(), nullable=True),
        sa.Column("plan_sha256", sa.String(64), nullable=False),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        _created(),
    )
    op.create_table(
        "adoptions",
        _id(),
        _workspace(),
        sa.Column("plan_run_id", sa.Integer(), sa.ForeignKey("plan_runs.id"), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        _created(),
    )
    op.create_table(
        "contracts",
        _id(),
        _workspace(),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("provider", sa.String(80), nullable=False),
        sa.Column("committed_usd", sa.Float(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("discount", sa.Float(), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        _created(),
        sa.UniqueConstraint("workspace_id", "name"),
    )
    op.create_table(
        "commitments",
        _id(),
        _workspace(),
        sa.Column("adoption_id", sa.Integer(), sa.ForeignKey("adoptions.id"), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(80), nullable=False),
        sa.Column("region", sa.String(80), nullable=False),
        sa.Column("offer", sa.String(200), nullable=False),
        sa.Column("accelerator", sa.String(80), nullable=False),
        sa.Column("term_years", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("usd_per_hour", sa.Float(), nullable=False),
        sa.Column("value_usd", sa.Float(), nullable=False),
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("contracts.id"), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        _created(),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "audit_log",
        _id(),
        _workspace(),
        sa.Column("ledger_version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
    )
    for table in ("scenario_versions", "plan_runs", "adoptions", "contracts", "commitments"):
        op.create_index(f"ix_{table}_workspace_id", table, ["workspace_id"])
    op.create_index("ix_audit_log_workspace_id", "audit_log", ["workspace_id"])
    op.create_index("ix_commitments_state", "commitments", ["state"])
    _audit_triggers_up()


def _audit_triggers_up() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for what in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{what.lower()} BEFORE {what} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    for table in (
        "audit_log",
        "commitments",
        "contracts",
        "adoptions",
        "plan_runs",
        "scenario_versions",
        "workspaces",
    ):
        op.drop_table(table)
