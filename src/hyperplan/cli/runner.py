"""Run a command body with one mapping of errors and signals to exit statuses.

Every command (the modules of :mod:`hyperplan.cli`) runs its body through :func:`run_command`, so a located input error, a known failure, a bug and
an interruption end the same way whichever command met them:

======  =============================================================================
status  meaning
======  =============================================================================
2       bad input: located problems printed (file:line:column, field path)
other   a known failure (:class:`~hyperplan.errors.HyperplanError`) with its own status
        (3 no plan from the solver, 4 a missed target with ``--strict``, 5 a stale ledger)
1       a bug: one line saying so (``HYPERPLAN_DEBUG=1`` prints the traceback)
1       also, quietly, when stdout's reader went away (``| head``): outputs already written
130     Ctrl-C (SIGINT)
143     SIGTERM (128 + the signal number, as a shell reports it)
======  =============================================================================

On an interruption nothing half-written is left (outputs are written atomically) and the
message names the outputs already written, if any. A Ctrl-C is honoured even when the
KeyboardInterrupt it raised was swallowed on the way (inside a ``__del__`` or a library's
``except Exception``, printed as "Exception ignored"): the signal handler notes it, and the
command ends with 130 once its body returns.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from hyperplan.errors import (
    EXIT_SIGINT,
    EXIT_SIGTERM,
    HyperplanError,
    InputError,
    Interrupted,
    on_term,
)

T = TypeVar("T")

EXIT_BROKEN_PIPE = 1
"""Exit status when stdout's reader went away (``| head``): rich's own choice when it meets a
broken pipe, so every command ends the same way, quietly, its outputs already written."""


class _SigintSeen:
    """Whether a Ctrl-C arrived while a command body ran (see :func:`on_int`)."""

    seen = False


def on_int(signum: int, frame: Any) -> None:
    """SIGINT: note it (a swallowed KeyboardInterrupt must not end in status 0), then raise."""
    _SigintSeen.seen = True
    raise KeyboardInterrupt


def quiet_unraisable(hook: Callable[[Any], None]) -> Callable[[Any], None]:
    """An unraisable-exception hook that stays silent about an interruption (it is honoured
    when the body returns, :class:`_SigintSeen`) and passes anything else to ``hook``."""

    def quiet(info: Any) -> None:
        if not isinstance(info.exc_value, KeyboardInterrupt | Interrupted):
            hook(info)

    return quiet


def run_command(action: Callable[[], T], err: Console | None = None) -> T:
    """Run ``action`` and turn what it raises into a message on ``err`` (default: the stderr
    console of :mod:`hyperplan.cli.term`) and an exit status."""
    import hyperplan.cli.term as term
    from hyperplan.fileio import reset_written, written_note

    err = err if err is not None else term.err()
    try:
        previous = signal.signal(signal.SIGTERM, on_term)
        previous_int = signal.signal(signal.SIGINT, on_int)
    except ValueError:  # not the main thread (a test runner's worker): no handler to install
        previous = previous_int = None
    reset_written()
    previous_hook = sys.unraisablehook
    sys.unraisablehook = quiet_unraisable(previous_hook)
    try:
        if _SigintSeen.seen:  # a Ctrl-C before the body (while its modules imported), swallowed
            raise KeyboardInterrupt
        result = action()
        if _SigintSeen.seen:  # the KeyboardInterrupt was swallowed somewhere: still honour it
            raise KeyboardInterrupt
        return result
    except InputError as exc:
        from hyperplan.scenario.load import format_problems

        err.print(format_problems(exc.problems), markup=False, highlight=False)
        if written_note():
            err.print(written_note(), markup=False, highlight=False)
        raise typer.Exit(2) from None
    except (KeyboardInterrupt, Interrupted) as exc:
        code = exc.exit_code if isinstance(exc, Interrupted) else EXIT_SIGINT
        how = " (SIGTERM)" if code == EXIT_SIGTERM else ""
        err.print(f"interrupted{how}: {written_note() or 'nothing was written'}", markup=False)
        raise typer.Exit(code) from None
    except HyperplanError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        if written_note():
            err.print(written_note(), markup=False, highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except typer.Exit:
        raise
    except BrokenPipeError:  # the reader of stdout went away (`| head`): stop quietly, as cat does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
    except Exception as exc:  # a bug: say so in one line, keep the traceback for those who ask
        if os.environ.get("HYPERPLAN_DEBUG"):
            traceback.print_exc()
        err.print(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "this is a bug in hyperplan; rerun with HYPERPLAN_DEBUG=1 for the traceback and report it",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1) from None
    finally:
        _SigintSeen.seen = False  # honoured above: the next command (tests run many) starts clear
        sys.unraisablehook = previous_hook
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)
