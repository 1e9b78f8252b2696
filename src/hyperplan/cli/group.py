"""The root command group of hyperplan: ``-h`` beside ``--help``; ``-q`` and ``-v`` anywhere.

``-q/--quiet`` and ``-v/--verbose`` are options of the root command (``hyperplan -q plan x.yaml``);
:class:`Group` lets them stand anywhere on the line (``hyperplan plan x.yaml -q``), as gh and
kubectl do, by moving them to the front before the line is parsed (up to a ``--``).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

import hyperplan.cli.term as term

CONTEXT = {"help_option_names": ["-h", "--help"]}
"""Every command answers ``-h`` as well as ``--help`` (subcommands inherit it)."""

ANYWHERE = ("-q", "--quiet", "-v", "--verbose")
"""Options of the root command that may also follow the subcommand."""


def hoist(args: list[str]) -> list[str]:
    """``args`` with every :data:`ANYWHERE` flag before a ``--`` moved to the front."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in ANYWHERE]
    return flags + [a for a in args[:end] if a not in ANYWHERE] + args[end:]


class Group(TyperGroup):
    """The root group: a fresh :mod:`~hyperplan.cli.term` set-up for each command line, and
    ``-q``/``-v`` accepted after the subcommand."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        if parent is None:
            term.reset()  # a new command line: defaults, until -q/-v say otherwise
            args = hoist(list(args))
        return super().make_context(info_name, args, parent=parent, **extra)
