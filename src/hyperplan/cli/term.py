"""The terminal: results on stdout, everything else on stderr, at the width of the terminal.

- :func:`out` prints results (tables, summaries, JSON). :func:`err` prints warnings, misses,
  errors; :func:`info` prints progress and notes ("planning ...", "wrote plan.json"), which
  ``-q/--quiet`` drops. Warnings and missed targets are never dropped.
- Width: a console on a terminal follows the terminal (and its resizes); in a pipe or a file it
  is ``$COLUMNS`` when set, else :data:`DEFAULT_WIDTH` columns, so output is the same wherever it
  is redirected.
- ``-v/--verbose`` asks the solver to write its log (to stderr).

:func:`configure` is called once per command line (the ``-q``/``-v`` options of every command,
see :mod:`hyperplan.cli.root`); the consoles are made on first use after it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import IO, Any

from rich.console import Console

DEFAULT_WIDTH = 100
"""Columns of output that is not a terminal when ``$COLUMNS`` is not set."""
MIN_WIDTH = 40
"""Narrowest width honoured (a smaller ``$COLUMNS`` is raised to it)."""


@dataclass
class Settings:
    """What the command line asked for: ``-q`` (no progress or notes), ``-v`` (solver log)."""

    quiet: bool = False
    verbose: bool = False


settings = Settings()
_consoles: dict[str, Console] = {}


def configure(*, quiet: bool | None = None, verbose: bool | None = None) -> None:
    """Set ``-q``/``-v`` (None leaves a setting as it is) and forget the consoles made so far."""
    if quiet is not None:
        settings.quiet = quiet
    if verbose is not None:
        settings.verbose = verbose
    _consoles.clear()


def reset() -> None:
    """Defaults again (a new command line in the same process: tests, the docs checker)."""
    configure(quiet=False, verbose=False)


def width(stream: IO[str] | Any) -> int | None:
    """Columns for ``stream``: None (follow the terminal) on a terminal, else ``$COLUMNS`` or
    :data:`DEFAULT_WIDTH`."""
    try:
        if stream.isatty():
            return None
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        pass
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(MIN_WIDTH, int(columns))
    return DEFAULT_WIDTH


def _console(kind: str) -> Console:
    console = _consoles.get(kind)
    if console is None:
        stderr = kind == "err"
        console = Console(stderr=stderr, width=width(sys.stderr if stderr else sys.stdout))
        _consoles[kind] = console
    return console


def out() -> Console:
    """The console of results (stdout)."""
    return _console("out")


def err() -> Console:
    """The console of warnings, errors and notes (stderr)."""
    return _console("err")


def info(message: str) -> None:
    """A note or a progress line on stderr (dropped by ``-q``); printed as is, no markup."""
    if not settings.quiet:
        err().print(message, markup=False, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """A warning on stderr (``-q`` keeps it)."""
    err().print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)


def wrote(path: object) -> None:
    """The note that an output was written (stderr; dropped by ``-q``)."""
    info(f"wrote {path}")


def print_json(document: object) -> None:
    """One JSON document on stdout (indented, UTF-8, non-finite numbers as null)."""
    from hyperplan.cli.jsonout import dumps

    sys.stdout.write(dumps(document))
    sys.stdout.write("\n")
