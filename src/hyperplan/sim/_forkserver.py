"""Imported only by the multiprocessing fork server of a simulation (see ``runner._context``).

When the main process is interrupted (Ctrl-C, SIGTERM) while the fork server is starting a
worker, the new worker finds the pool's semaphores gone or its start-up data cut short as it
unpickles them, and the fork server prints that traceback to the terminal the user just
interrupted. This hook keeps such start-up failures quiet (the worker exits with status 1 all
the same; a genuine start-up failure still reaches the parent as a broken process pool); any
other exception is reported as usual.
"""

from __future__ import annotations

import pickle
import sys
from types import TracebackType

_ORPHANED = (OSError, EOFError, pickle.UnpicklingError)  # OSError: FileNotFoundError, pipes
_default_hook = sys.excepthook


def _in_startup(tb: TracebackType | None) -> bool:
    """The exception passed through ``multiprocessing.spawn._main`` (reading start-up data)."""
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "_main" and code.co_filename.endswith("spawn.py"):
            return True
        tb = tb.tb_next
    return False


def _quiet_when_orphaned(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, _ORPHANED) and _in_startup(tb):
        return
    _default_hook(kind, value, tb)


sys.excepthook = _quiet_when_orphaned
