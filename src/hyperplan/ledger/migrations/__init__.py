"""Alembic migrations of the ledger (run programmatically by :func:`hyperplan.ledger.db.upgrade`)."""
