"""Imported only by the multiprocessing fork server of a simulation (see ``runner._context``).

When the main process is interrupted (Ctrl-C, SIGTERM) while the fork server is starting a
worker, the new worker finds the pool's semaphores and pipes gone as it unpickles its start-up
data, and the fork server prints that traceback to the terminal the user just interrupted.
This hook keeps those start-up failures quiet (the worker exits with status 1 all the same);
any other exception is reported as usual.
"""

from __future__ import annotations

import sys
from types import TracebackType

_ORPHANED = (FileNotFoundError, EOFError, ConnectionError, BrokenPipeError)
_default_hook = sys.excepthook


def _quiet_when_orphaned(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, _ORPHANED):
        return
    _default_hook(kind, value, tb)


sys.excepthook = _quiet_when_orphaned
