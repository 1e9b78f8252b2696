"""File output: checked before the work, written atomically, never replacing links or devices.

* :func:`check_outputs` runs at the start of every command that writes: an output that is a
  directory, a block device or socket, inside a file, or in a folder we cannot write to is
  refused before anything is planned or simulated (:class:`~hyperplan.errors.InputError`,
  exit status 2). Missing folders are created when the output is written.
* :func:`atomic_open` writes to a temporary file beside the target, then ``os.replace``: a reader
  never sees a half-written file, and a failure or interruption leaves any previous file intact.
  A symbolic link is written *through*: its target is replaced and the link stays a link. A
  character device or FIFO (``/dev/null``, ``/dev/stdout``, a pipe) is written to directly,
  never replaced by a regular file.
* :func:`written` lists the files this process has written since :func:`reset_written`, so an
  interrupted command says exactly what was written instead of "nothing".
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from hyperplan.errors import InputError, Problem

_WRITTEN: list[str] = []


def reset_written() -> None:
    """Forget the files written so far (a command starts)."""
    _WRITTEN.clear()


def written() -> list[str]:
    """Files written (replaced or created) since :func:`reset_written`, in order."""
    return list(_WRITTEN)


def written_note() -> str:
    """``"wrote only a, b (no other output)"`` after partial output, else ``""``."""
    files = written()
    if not files:
        return ""
    return f"wrote only {', '.join(files)} before stopping; no other output was written"


def _resolve(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` lands in: symbolic links followed (even a dangling one)."""
    return Path(os.path.realpath(os.fspath(path)))


def _is_stream(st: os.stat_result) -> bool:
    """A character device or FIFO: written directly (``/dev/null``, ``/dev/stdout``, a pipe)."""
    return stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)


def check_output(path: str | os.PathLike[str], option: str = "--output") -> None:
    """Refuse, before any work, an output path that cannot be written as a file.

    Args:
        path: where the command will write.
        option: the option that named it, for the message (``--output``, ``--html``).

    Raises:
        InputError: ``path`` is a directory, a block device or socket, lies under a file, or
            its folder (the nearest one that exists) cannot be written to.
    """
    name = os.fspath(path)

    def refuse(message: str) -> InputError:
        return InputError([Problem(message, file=name, path=option)])

    target = _resolve(path)
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise refuse("cannot be written: a parent of it is a file, not a folder") from None
    except OSError as exc:
        raise refuse(f"cannot be written: {exc.strerror or exc}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise refuse("is a directory; give a file name")
        if _is_stream(st):
            if not os.access(target, os.W_OK):
                raise refuse("cannot be written: permission denied")
            return
        if not stat.S_ISREG(st.st_mode):
            raise refuse("is a block device or socket; give a regular file name")
    folder = target.parent
    while not folder.exists():  # created on write; the first existing ancestor must be writable
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise refuse(f"cannot be written: {folder} is a file, not a folder")
    try:  # the only reliable test (read-only mounts, ACLs, root): create and remove a file
        fd, probe = tempfile.mkstemp(prefix=".hyperplan-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise refuse(f"cannot be written: folder {folder}: {exc.strerror or exc}") from None


def check_outputs(*outputs: tuple[str | os.PathLike[str] | None, str]) -> None:
    """:func:`check_output` on each ``(path, option)`` whose path is not None; all problems."""
    problems: list[Problem] = []
    for path, option in outputs:
        if path is None:
            continue
        try:
            check_output(path, option)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: object) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on clean exit fsync it and replace ``path`` atomically.

    On any exception (including KeyboardInterrupt) the temporary file is removed and ``path`` is
    left as it was. A symbolic link's target is replaced (the link stays); a character device or
    FIFO is opened and written directly. A fault of the path (a directory, no permission, a
    read-only folder) raises :class:`~hyperplan.errors.InputError` naming the file.
    """
    name = os.fspath(path)
    target = _resolve(path)
    try:
        st = target.stat()
    except OSError:
        st = None
    if st is not None and _is_stream(st):
        try:
            handle = open(target, mode, **kwargs)  # type: ignore[call-overload]  # noqa: SIM115
        except OSError as exc:
            raise InputError([Problem(f"cannot write: {exc.strerror or exc}", file=name)]) from None
        with handle:
            yield handle
        _WRITTEN.append(name)
        return
    if st is not None and not stat.S_ISREG(st.st_mode):
        what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise InputError([Problem(f"cannot write: {what}", file=name)])
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise InputError([Problem(f"cannot write: {exc.strerror or exc}", file=name)]) from None
    # mkstemp makes the file private (0600); give it the mode a plain open() would (umask)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:  # type: ignore[call-overload]
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _WRITTEN.append(name)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
