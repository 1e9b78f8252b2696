"""``hyperplan schema``: the JSON Schema of the scenario language, for editors.

``register(app)`` adds the command to a Typer app (``hyperplan.cli`` calls it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``hyperplan schema`` to ``app``."""

    @app.command("schema")
    def schema(
        output: Annotated[
            Path | None,
            typer.Option(
                "--output", "-o", help="Write the schema here (atomically) instead of printing it."
            ),
        ] = None,
    ) -> None:
        """Print the JSON Schema of scenario files (descriptions, units, examples on every field).

        Editors validate and complete a scenario against it: start the YAML with
        "# yaml-language-server: $schema=scenario.schema.json" and keep the schema beside it.

        Example: hyperplan schema -o scenario.schema.json
        """
        from rich.console import Console

        from hyperplan.runner import run_command
        from hyperplan.scenario.jsonschema import schema_text

        def body() -> None:
            from hyperplan.fileio import check_outputs, write_text_atomic

            check_outputs((output, "--output"))
            text = schema_text()
            if output is None:
                typer.echo(text, nl=False)
                return
            write_text_atomic(output, text)
            typer.echo(f"wrote {output}")

        run_command(body, Console(stderr=True, width=100))
