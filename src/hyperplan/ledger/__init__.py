"""The ledger: what the organisation adopted and signed, in a real database.

Public API (SQLAlchemy and Alembic are imported only when a ledger is opened):

- :func:`open_ledger` – open (create, migrate) the ledger at a path or URL.
- :func:`preview` / :func:`adopt` – what adopting a plan changes; apply it (optimistic lock).
- :func:`sign` / :func:`transition` – move a commitment along its life (audited).
- :func:`list_commitments`, :func:`list_contracts`, :func:`audit_log`,
  :func:`ledger_version` – read it.
- :func:`scenario_from_ledger` – a scenario with the ledger's held capacity as reservations.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "adopt",
    "audit_log",
    "ledger_version",
    "list_commitments",
    "list_contracts",
    "open_ledger",
    "preview",
    "scenario_from_ledger",
    "sign",
    "transition",
]

_WHERE = {
    "open_ledger": "hyperplan.ledger.db",
    "scenario_from_ledger": "hyperplan.ledger.existing",
}


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        module = importlib.import_module(_WHERE.get(name, "hyperplan.ledger.api"))
        return getattr(module, name)
    raise AttributeError(name)
