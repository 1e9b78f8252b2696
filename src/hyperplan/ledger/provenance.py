"""What made a plan: hyperplan, solver and catalog versions, recorded with each plan run."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from importlib.resources import files

from hyperplan.version import __version__


@lru_cache(maxsize=1)
def catalog_sha256() -> str:
    """sha256 over the bundled catalog data files (names and bytes, in name order)."""
    digest = hashlib.sha256()
    folder = files("hyperplan.catalog").joinpath("data")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".csv"):
            digest.update(entry.name.encode())
            digest.update(entry.read_bytes())
    return digest.hexdigest()


def versions() -> dict[str, str]:
    """hyperplan, HiGHS (highspy) and catalog versions of this process."""
    try:
        solver = f"highspy {metadata.version('highspy')}"
    except metadata.PackageNotFoundError:
        solver = "highspy unknown"
    return {
        "hyperplan": __version__,
        "solver": solver,
        "catalog": f"bundled with hyperplan {__version__}",
        "catalog_sha256": catalog_sha256(),
    }
