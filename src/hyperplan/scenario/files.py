"""Files a scenario names (CSV series, offer CSVs): where they may be, what they may be.

A scenario may come from someone else, so the files it names are confined:

- they must resolve (after symlinks) under the scenario's own folder, or under a folder the user
  allowed explicitly (``--allow-path DIR`` on the command line, the ``allow_paths`` argument of
  :func:`~hyperplan.scenario.load.load_scenario`, or :data:`ENV_ALLOW` in the environment,
  folders separated by :data:`os.pathsep`);
- they must be regular files (no FIFO, device, socket or directory; nothing under ``/proc``,
  ``/sys`` or ``/dev``) of at most :data:`~hyperplan.paths.MAX_FILE_BYTES` bytes; they are
  opened without blocking and checked with ``fstat`` before a byte is read
  (:func:`hyperplan.paths.read_bounded`, which the catalog's CSV readers use too);
- an error about one says its name and what we expected, never what it holds.

:class:`ScenarioFolder` is the scenario's folder (a :class:`~pathlib.Path`) that also carries the
extra allowed folders, so every reader given ``scenario._base_dir`` applies the same rules.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hyperplan.paths import MAX_FILE_BYTES, FileAccessError, check_regular_file, read_bounded

__all__ = [
    "ENV_ALLOW",
    "MAX_FILE_BYTES",
    "PSEUDO_ROOTS",
    "FileAccessError",
    "ScenarioFolder",
    "allowed_roots",
    "env_allowed",
    "read_bounded",
    "read_scenario_file",
    "resolve_scenario_file",
    "scenario_folder",
]

ENV_ALLOW = "HYPERPLAN_ALLOW_PATHS"
"""Environment variable: more folders scenarios may read from, separated by ``os.pathsep``."""
PSEUDO_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
"""Kernel pseudo-filesystems: never read, even when a folder above them is allowed."""


class ScenarioFolder(type(Path())):  # type: ignore[misc]
    """The folder of a scenario file, plus the other folders its files may lie in.

    Compares and behaves as the plain path of the folder; ``allowed`` holds the extra folders
    (resolved) the user allowed. Pickles with them (walk-away re-solves run in other processes).
    """

    allowed: tuple[Path, ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_folder, (str(self), tuple(str(a) for a in self.allowed)))


def _folder(path: str, allowed: Sequence[str]) -> ScenarioFolder:
    return scenario_folder(path, allowed)


def env_allowed() -> list[Path]:
    """The folders of :data:`ENV_ALLOW` (empty entries ignored)."""
    raw = os.environ.get(ENV_ALLOW, "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def scenario_folder(
    base: str | os.PathLike[str], allow_paths: Iterable[str | os.PathLike[str]] = ()
) -> ScenarioFolder:
    """The folder ``base`` (resolved) carrying the extra folders ``allow_paths`` (resolved)."""
    folder = ScenarioFolder(Path(base).resolve())
    folder.allowed = tuple(Path(p).resolve() for p in allow_paths)
    return folder


def allowed_roots(base_dir: str | os.PathLike[str] | None) -> list[Path]:
    """Every folder a scenario whose folder is ``base_dir`` may read from, resolved.

    ``base_dir`` itself (the current directory when ``None``), the folders it carries (a
    :class:`ScenarioFolder`) and those of :data:`ENV_ALLOW`.
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    roots = [base.resolve()]
    roots += list(getattr(base_dir, "allowed", ()))
    roots += [p.resolve() for p in env_allowed()]
    return list(dict.fromkeys(roots))


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_scenario_file(name: str, base_dir: str | os.PathLike[str] | None) -> Path:
    """Where the file a scenario calls ``name`` is, checked; relative names start at its folder.

    Args:
        name: the path as the scenario writes it.
        base_dir: the scenario's folder (a :class:`ScenarioFolder` carries extra allowed ones).

    Returns:
        The resolved path (symlinks followed) of a regular file of at most
        :data:`MAX_FILE_BYTES` bytes under an allowed folder.

    Raises:
        FileAccessError: outside the allowed folders, missing, not a regular file, too large.
    """
    if "\x00" in name:
        raise FileAccessError("a file name may not contain a NUL character")
    path = Path(name).expanduser() if name.startswith("~") else Path(name)
    if not path.is_absolute():
        path = (Path(base_dir) if base_dir is not None else Path.cwd()) / path
    try:
        real = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise FileAccessError(f"cannot resolve {name}: {exc.__class__.__name__}") from None
    roots = allowed_roots(base_dir)
    if any(_under(real, p) for p in PSEUDO_ROOTS) or not any(_under(real, r) for r in roots):
        shown = ", ".join(str(r) for r in roots)
        raise FileAccessError(
            f"{name} is outside the folders a scenario may read ({shown}); move the file beside "
            f"the scenario, or allow its folder with --allow-path DIR or {ENV_ALLOW}"
        )
    try:
        info = os.stat(real)
    except FileNotFoundError:
        raise FileAccessError(f"file not found: {path}") from None
    except OSError as exc:
        raise FileAccessError(f"cannot read {path}: {exc.strerror}") from None
    check_regular_file(info, path)
    return real


def read_scenario_file(name: str, base_dir: str | os.PathLike[str] | None) -> tuple[Path, bytes]:
    """:func:`resolve_scenario_file` then :func:`read_bounded`: ``(resolved path, bytes)``."""
    real = resolve_scenario_file(name, base_dir)
    return real, read_bounded(real)
