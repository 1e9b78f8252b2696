"""Errors of the ledger, each with the exit status the CLI uses."""

from __future__ import annotations

from hyperplan.errors import HyperplanError

EXIT_STALE = 5
"""Exit status of a refused adoption or change: the ledger moved since the plan or preview."""


class LedgerError(HyperplanError):
    """Bad ledger input: unknown id, refused state change, bad URL, unreadable database. Exit 2."""

    exit_code = 2


class LedgerUnavailable(LedgerError):
    """The database cannot be reached or is busy (a connection refused, a lock timed out).

    Exit 2 like any :class:`LedgerError`; the server answers 503 (retry later)."""


class StaleLedger(HyperplanError):
    """The ledger's version is not the one the plan or preview was made from. Exit 5.

    Like a stale Terraform plan: preview again (``hyperplan adopt plan.json``) or re-plan from
    the ledger (``hyperplan plan --from-ledger``), then apply.
    """

    exit_code = EXIT_STALE
