"""The ``hyperplan`` command line: every command module, the shared runner and the terminal.

========================  ========================================================================
module                    what it holds
========================  ========================================================================
:mod:`.root`              the typer app, ``catalog``, ``validate``, ``init``, ``plan``, ``compare``
:mod:`.simulate`          ``simulate``
:mod:`.report`            ``report`` and ``demo``
:mod:`.actuals`           ``actuals report``
:mod:`.ledger`            ``adopt``, ``sign``, ``ledger ...``
:mod:`.schema`            ``schema``
:mod:`.runner`            one mapping of errors and signals to exit statuses
:mod:`.term`              where output goes (stdout: results; stderr: the rest), how wide, -q/-v
:mod:`.jsonout`           the ``--json`` documents (one per command)
:mod:`.options`           checks of numeric and enumerated options
========================  ========================================================================

This package sits on top of every other layer (DESIGN.md section 7); nothing below imports it.
Importing it is cheap: the app is built on first use of :data:`app`, so that :func:`main` can
treat a Ctrl-C that arrives while the modules load as an interruption (exit 130, no traceback).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

from hyperplan.errors import EXIT_SIGINT


def _exit_interrupted(signum: int, frame: Any) -> None:
    """SIGINT while nothing can have been written yet (modules loading, interpreter ending):
    leave at once with 130. ``os._exit`` because a KeyboardInterrupt raised there could land in a
    ``__del__`` or a weakref callback, be printed as "Exception ignored" and let the run go on."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream: nothing more to say
            stream.flush()
    os._exit(EXIT_SIGINT)


def main() -> None:
    """Console-script entry point (``hyperplan``; also ``python -m hyperplan.cli``)."""
    try:
        previous = signal.signal(signal.SIGINT, _exit_interrupted)
    except ValueError:  # not the main thread: nothing to install
        previous = None
    try:
        from hyperplan.cli.root import run
    except KeyboardInterrupt:  # an interrupt that arrived before the handler: same ending
        _exit_interrupted(signal.SIGINT, None)
    if previous is not None:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # commands clean up, then 130
    try:
        run()
    except SystemExit as exc:
        if exc.code == EXIT_SIGINT:
            # Interrupted, cleaned up and said so. Leave with 130 now: when a library had the
            # KeyboardInterrupt pass through PyRun_* code (pyo3 and Cython modules do),
            # CPython marks it unhandled and, whatever the exit status asked, ends the process
            # by SIGINT after finalising (status -2 to a parent, not 130).
            _exit_interrupted(signal.SIGINT, None)
        raise
    finally:
        if previous is not None:  # the interpreter's shutdown: a Ctrl-C now ends it quietly
            signal.signal(signal.SIGINT, _exit_interrupted)


def __getattr__(name: str) -> Any:
    """``hyperplan.cli.app``: the typer app (built when first asked for)."""
    if name == "app":
        from hyperplan.cli.root import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
