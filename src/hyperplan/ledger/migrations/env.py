"""Alembic environment: runs on the connection :func:`hyperplan.ledger.db.upgrade` passes in."""

from __future__ import annotations

from alembic import context

import hyperplan.ledger.access
import hyperplan.ledger.jobs  # noqa: F401  (registers the jobs table on Base.metadata)
from hyperplan.ledger import actuals_store  # noqa: F401  (its tables on Base.metadata)
from hyperplan.ledger.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
