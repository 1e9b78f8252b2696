"""Reading a file someone else named: a regular file, bounded in size, opened without blocking.

The lowest layer of file input, below the catalog and the scenario: the catalog's CSV readers
(:mod:`hyperplan.catalog.importers`) and the files a scenario names
(:mod:`hyperplan.scenario.files`, which adds where such files may lie) read through
:func:`read_bounded`. An error names the file and what we expected, never what it holds.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["MAX_FILE_BYTES", "FileAccessError", "check_regular_file", "read_bounded"]

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Largest file a scenario may name (a CSV series, an offer CSV), bytes (50 MiB)."""


class FileAccessError(ValueError):
    """A file named by a scenario that may not be read (outside the allowed folders, see
    :mod:`hyperplan.scenario.files`; not a regular file, too large, missing). The message names
    the file, never its content."""


def check_regular_file(info: os.stat_result, path: Path) -> None:
    """Refuse what ``os.stat``/``os.fstat`` says is not a regular file of at most
    :data:`MAX_FILE_BYTES` bytes.

    Raises:
        FileAccessError: a directory, FIFO, device or socket, or too large.
    """
    if stat.S_ISDIR(info.st_mode):
        raise FileAccessError(f"{path} is a directory; expected a CSV file")
    if not stat.S_ISREG(info.st_mode):
        raise FileAccessError(
            f"{path} is not a regular file (a FIFO, device or socket); expected a CSV file"
        )
    if info.st_size > MAX_FILE_BYTES:
        raise FileAccessError(
            f"{path} is too large ({info.st_size / 2**20:.1f} MiB); a file a scenario names may "
            f"be at most {MAX_FILE_BYTES // 2**20} MiB"
        )


def read_bounded(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES`, opened without blocking.

    The file is opened with ``O_NONBLOCK`` (a FIFO swapped in cannot hang the open), checked
    with ``fstat`` (regular, not too large) and read up to the limit.

    Raises:
        FileAccessError: missing, unreadable, not a regular file, too large.
    """
    p = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise FileAccessError(f"file not found: {p}") from None
    except IsADirectoryError:
        raise FileAccessError(f"{p} is a directory; expected a CSV file") from None
    except OSError as exc:
        raise FileAccessError(f"cannot read {p}: {exc.strerror}") from None
    try:
        check_regular_file(os.fstat(fd), p)
        chunks: list[bytes] = []
        left = MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise FileAccessError(f"cannot read {p}: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        raise FileAccessError(
            f"{p} is too large; a file a scenario names may be at most "
            f"{MAX_FILE_BYTES // 2**20} MiB"
        )
    return data
