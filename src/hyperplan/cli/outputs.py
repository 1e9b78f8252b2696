"""Output files of the commands, ``-o -`` meaning stdout.

A command writes each output through :func:`write_output`: to a file atomically (as before,
:mod:`hyperplan.fileio`), or, for ``-`` , to a temporary file that is then copied to stdout, so
the writer of a plan.json, a sim.json or a report needs no second code path and stdout carries
nothing else (the summary is not printed; notes and warnings go to stderr).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from hyperplan.errors import InputError, Problem

STDOUT = "-"
"""The output name that means stdout."""


def is_stdout(path: str | os.PathLike[str] | None) -> bool:
    """Whether ``path`` is ``-`` (stdout)."""
    return path is not None and os.fspath(path) == STDOUT


def check(*outputs: tuple[str | os.PathLike[str] | None, str]) -> None:
    """:func:`hyperplan.fileio.check_outputs` on every output but ``-``; at most one ``-``
    (two outputs cannot share stdout), and not together with ``--json`` (pass it as an output
    named ``--json`` whose path is ``-`` when given)."""
    from hyperplan.fileio import check_outputs

    dashes = [option for path, option in outputs if is_stdout(path)]
    if len(dashes) > 1:
        raise InputError(
            [
                Problem(f"only one output can go to stdout (-); found {', '.join(dashes)}", path=o)
                for o in dashes[1:]
            ]
        )
    check_outputs(*((p, o) for p, o in outputs if not is_stdout(p)))


def write_output(
    path: str | os.PathLike[str], write: Callable[[Path], None], *, note: bool = True
) -> None:
    """``write(path)`` (atomic, see the writers), then (``note``) "wrote PATH" on stderr; for
    ``-`` write to a temporary file and copy its bytes to stdout."""
    import hyperplan.cli.term as term

    if not is_stdout(path):
        write(Path(path))
        if note:
            term.wrote(path)
        return
    with tempfile.TemporaryDirectory(prefix="hyperplan-") as folder:
        temp = Path(folder) / "output"
        write(temp)
        sys.stdout.flush()
        with temp.open("rb") as src:
            shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
        sys.stdout.buffer.flush()
