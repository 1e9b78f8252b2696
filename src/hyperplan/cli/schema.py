"""``hyperplan schema``: the JSON Schema of the scenario language, for editors.

``register(app)`` adds the command to a Typer app (:mod:`hyperplan.cli.root` calls it).
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
                "--output",
                "-o",
                help="Write the schema here (atomically) instead of printing it (-: stdout).",
            ),
        ] = None,
    ) -> None:
        """Print the JSON Schema of scenario files (descriptions, units, examples on every field).

        Editors validate and complete a scenario against it: start the YAML with
        "# yaml-language-server: $schema=scenario.schema.json" and keep the schema beside it.

        Example: hyperplan schema -o scenario.schema.json
        """
        from hyperplan.cli.runner import run_command
        from hyperplan.scenario.jsonschema import schema_text

        def body() -> None:
            from hyperplan.cli.outputs import check, is_stdout, write_output
            from hyperplan.fileio import write_text_atomic

            check((output, "--output"))
            text = schema_text()
            if output is None or is_stdout(output):
                typer.echo(text, nl=False)
                return
            write_output(output, lambda path: write_text_atomic(path, text))

        run_command(body)
