"""``hyperplan worker``: run the ledger's queued jobs (registered on the main app by
:func:`register`).

    hyperplan worker [--db PATH|URL] [--concurrency N] [--once] [--lease S] [--poll S] [--grace S]

Exit status: 0 stopped (SIGTERM/SIGINT after draining or releasing its jobs, or ``--once``
with the queue empty), 2 bad input (a bad option or database URL, an unreadable database).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

import hyperplan.cli.options as opt
import hyperplan.cli.term as term
from hyperplan.cli.ledger import DbOption
from hyperplan.cli.runner import run_command


def register(app: typer.Typer) -> None:
    """Add ``worker`` to ``app``."""

    @app.command()
    def worker(
        db: DbOption = None,
        concurrency: Annotated[
            int,
            typer.Option(
                "--concurrency",
                "-c",
                help="Jobs run at once, each in its own process.",
                callback=opt.count(minimum=1),
            ),
        ] = 1,
        once: Annotated[
            bool,
            typer.Option("--once", help="Run the queued jobs, then exit when the queue is empty."),
        ] = False,
        lease: Annotated[
            float,
            typer.Option(
                "--lease",
                help="Lease of a claimed job, seconds (renewed every third of it); a job whose "
                "worker died is retried after it.",
                callback=opt.number(gt=0),
            ),
        ] = 30.0,
        poll: Annotated[
            float,
            typer.Option(
                "--poll", help="Wait between looks at an empty queue, s.", callback=opt.number(gt=0)
            ),
        ] = 1.0,
        grace: Annotated[
            float,
            typer.Option(
                "--grace",
                help="After SIGTERM, seconds running jobs get to finish before they are "
                "released to the queue.",
                callback=opt.number(ge=0),
            ),
        ] = 10.0,
        nice: Annotated[
            int,
            typer.Option(
                "--nice",
                help="CPU niceness of each job's process (0-19; default 10: a server on the same "
                "machine keeps answering while jobs solve).",
                callback=opt.count(minimum=0, maximum=19),
            ),
        ] = 10,
        name: Annotated[
            str | None,
            typer.Option("--name", help="This worker's name in its jobs (default host:pid)."),
        ] = None,
    ) -> None:
        """Run queued plans, comparisons and simulations (durable jobs in the ledger database).

        Several workers may run on one machine and on several machines against one PostgreSQL
        database; each job runs on one worker at a time. SIGTERM drains (--grace), a second
        SIGTERM releases the running jobs back to the queue.

        Example: hyperplan worker --db postgresql://hp@db:5432/hyperplan --concurrency 2
        """

        def body() -> None:
            from hyperplan.server.worker import WorkerOptions, run_worker

            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s worker %(levelname)s %(message)s"))
            logger = logging.getLogger("hyperplan.worker")
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            options = WorkerOptions(
                db=db,
                concurrency=concurrency,
                once=once,
                lease_seconds=lease,
                poll_seconds=poll,
                grace_seconds=grace,
                niceness=nice,
            )
            if name:
                options.name = name[:200]
            tally = run_worker(options)
            done = ", ".join(f"{n} {k}" for k, n in sorted(tally.counts.items())) or "no jobs"
            term.info(f"worker {options.name} stopped: {done}")

        run_command(body)
