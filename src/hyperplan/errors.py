"""Errors that hyperplan reports to users.

Every problem with user input becomes an :class:`InputError` holding one :class:`Problem` per fault,
each located (file, line, column) and named by its field path. The CLI prints them and exits with
status 2; no traceback reaches the user.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One located fault in user input.

    Attributes:
        message: what is wrong, in words (expected vs found).
        file: path of the file, or ``None`` for input built in Python.
        line: 1-based line, or ``None`` when unknown.
        column: 1-based column, or ``None`` when unknown.
        path: field path such as ``workloads[2].demand.growth_per_year`` ("" for the whole file).
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str = ""

    def location(self) -> str:
        """``file:line:column`` with the parts that are known."""
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        where = self.location()
        field_path = f" {self.path}:" if self.path else ""
        return f"{where}:{field_path} {self.message}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice (case-insensitive), or ``""``.

    The suffix of a message about an unknown name (a field, a kind, a provider, a region).
    """
    if len(str(word)) > 200:  # no name is that long; difflib is quadratic in the length
        return ""
    table = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(str(word).lower(), list(table), n=1, cutoff=0.6)
    return f"; did you mean {table[close[0]]!r}?" if close else ""


class HyperplanError(Exception):
    """Base class of every error hyperplan raises on purpose."""

    exit_code = 1


@dataclass
class InputError(HyperplanError):
    """Bad user input: one or more located problems. Exit status 2."""

    problems: list[Problem] = field(default_factory=list)
    exit_code = 2

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class SolverError(HyperplanError):
    """The solver failed in a way that yields no plan (not: infeasible demand, which is reported)."""

    exit_code = 3


EXIT_SIGINT = 130
"""Exit status after Ctrl-C (128 + SIGINT)."""


class Interrupted(HyperplanError):
    """The user interrupted a run (SIGINT/SIGTERM). Nothing half-written is left behind."""

    exit_code = EXIT_SIGINT


EXIT_SIGTERM = 143
"""Exit status after SIGTERM (128 + SIGTERM)."""


def on_term(signum: int, frame: object) -> None:
    """A SIGTERM handler: unwind like Ctrl-C (temporary files removed, previous outputs kept),
    with :data:`EXIT_SIGTERM` as the exit status. The CLI and the job worker's child install it."""
    exc = Interrupted("terminated")
    exc.exit_code = EXIT_SIGTERM
    raise exc


EXIT_MISSED = 4
"""Exit status of ``plan``, ``compare`` and ``demo`` with ``--strict`` when the plan misses a
stated target (demand, a training run, a budget, an N-1 level, the GW target); the outputs are
written first. See :meth:`hyperplan.plan.api.Plan.misses`."""
