"""A typer ``CliRunner`` that keeps stderr apart from stdout on every click release the suite
supports: click < 8.2 mixes them unless told not to (``mix_stderr=False``); 8.2 always
separates them and has no such argument."""

from __future__ import annotations

from typer.testing import CliRunner


def separate_runner() -> CliRunner:
    """A runner whose results have ``stdout`` and ``stderr`` apart."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()
