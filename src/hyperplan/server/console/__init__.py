"""The team's web console, served by ``hyperplan serve`` at ``/console``: portfolio, contracts,
scenarios and runs, adoption (see :mod:`hyperplan.server.console.routes`)."""

from hyperplan.server.console.routes import MOUNT, console_app

__all__ = ["MOUNT", "console_app"]
