"""Server CPU per read request, in process, one request at a time (no network, no driver).

A ledger of ``--commitments`` commitments (bench/server_load.py's fill) on SQLite or
PostgreSQL; the app is called through ``httpx.ASGITransport`` with the route's thread-pool hop
made inline, so each request's CPU time (``time.process_time``) and a cProfile of it land in one
thread. For each hot read route: CPU ms per request, and the share of it in the stages below
(cumulative time of the profile's functions, so nested stages overlap):

- auth: the token lookup (``ledger.access.authenticate``);
- ORM: SQLAlchemy ORM sessions' ``execute`` and ``scalar`` (statements through the ORM);
- SQL: SQLAlchemy Core's ``Connection.execute`` (every statement, ORM's included) and the driver;
- validation: pydantic (FastAPI's response-model validation and serialisation);
- json: ``json.dumps`` of the body.

Anchor, same run: ``GET /api/v1/health`` (no token, one tiny query).

    python bench/server_profile.py [--backend sqlite|postgresql] [--commitments N]
                                   [--requests N] [--quick] [--out JSON]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table, write_results
from server_load import PAGE, WS, fill

STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "auth": (("access.py", "authenticate"),),
    "orm": (("sqlalchemy/orm/session.py", "execute"), ("sqlalchemy/orm/session.py", "scalar")),
    "sql": (("sqlalchemy/engine/base.py", "execute"),),
    "validation": (("fastapi/routing.py", "serialize_response"),),
    "json": (("json/__init__.py", "dumps"), ("server/reads.py", "dumps")),
}
"""Stage → (file suffix, function name) pairs whose cumulative times the stage is."""


def routes(job_id: int) -> list[tuple[str, str]]:
    return [
        ("commitments page", f"/api/v1/{WS}/commitments?limit={PAGE}&after=5000"),
        ("commitments ?state", f"/api/v1/{WS}/commitments?limit={PAGE}&state=signed&after=5000"),
        ("contracts", f"/api/v1/{WS}/contracts"),
        ("audit page", f"/api/v1/{WS}/audit?limit={PAGE}&after=500"),
        ("jobs list", f"/api/v1/{WS}/jobs?limit=20"),
        ("job show", f"/api/v1/{WS}/jobs/{job_id}"),
        ("workspace", f"/api/v1/{WS}"),
        ("health (anchor)", "/api/v1/health"),
    ]


def inline_threadpool() -> None:
    """Run sync routes and dependencies in the event loop's thread (profiling only)."""
    import fastapi.dependencies.utils as dep_utils
    import fastapi.routing as routing

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    routing.run_in_threadpool = inline  # type: ignore[assignment]
    dep_utils.run_in_threadpool = inline  # type: ignore[assignment]


def stage_seconds(prof: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(prof)
    out = dict.fromkeys(STAGES, 0.0)
    for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        for stage, matchers in STAGES.items():
            if any(func == name and file.endswith(suffix) for suffix, name in matchers):
                out[stage] += ct
    return out


async def measure(app: Any, token: str, path: str, n: int) -> dict[str, Any]:
    import httpx

    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        for _ in range(5):  # warm up: imports, caches, pooled connections
            r = await c.get(path)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            await c.get(path)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            await c.get(path)
        prof.disable()
        stages = stage_seconds(prof)
        size = len((await c.get(path)).content)
    return {
        "cpu_ms": cpu / n * 1000,
        "wall_ms": wall / n * 1000,
        "bytes": size,
        **{f"{k}_ms": v / n * 1000 for k, v in stages.items()},
        "_profile": prof,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    ap.add_argument("--commitments", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--top", type=int, default=0, help="print the profile's N top functions")
    ap.add_argument("--pg-url", default=os.environ.get("HYPERPLAN_TEST_POSTGRES_URL")
                    or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="2,000 commitments, 20 requests")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.quick:
        args.commitments, args.requests = 2000, 20
    print(f"load average at start: {os.getloadavg()}", flush=True)
    inline_threadpool()
    from hyperplan.ledger import jobs
    from hyperplan.ledger.db import open_ledger
    from hyperplan.server.app import create_app

    admin = name = None
    with tempfile.TemporaryDirectory(prefix="hp-profile-") as folder:
        if args.backend == "sqlite":
            url = f"sqlite:///{Path(folder) / 'ledger.db'}"
        else:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            name = f"hp_profile_{uuid.uuid4().hex[:10]}"
            admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
        try:
            filled = fill(url, args.commitments)
            ledger = open_ledger(url)
            small = (Path(__file__).resolve().parents[1] / "examples" / "small.yaml").read_text()
            job, _ = jobs.enqueue(ledger, WS, "plan", small, params={}, author="bench")
            app = create_app(ledger=ledger)
            rows = []
            for label, path in routes(int(job["id"])):
                res = asyncio.run(measure(app, filled["viewer"], path, args.requests))
                prof = res.pop("_profile")
                if args.top:
                    print(f"\n== {label}")
                    pstats.Stats(prof).sort_stats("cumulative").print_stats(args.top)
                rows.append({"endpoint": label, **res})
            ledger.dispose()
        finally:
            if admin is not None:
                from sqlalchemy import text

                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    anchor = rows[-1]["cpu_ms"]
    for row in rows:
        row["cpu_vs_anchor"] = row["cpu_ms"] / anchor
    columns = [
        ("endpoint", "endpoint", ""),
        ("cpu_ms", "CPU ms", ".2f"),
        ("wall_ms", "wall ms", ".2f"),
        ("auth_ms", "auth", ".2f"),
        ("orm_ms", "ORM", ".2f"),
        ("sql_ms", "SQL", ".2f"),
        ("validation_ms", "validation", ".2f"),
        ("json_ms", "json", ".2f"),
        ("bytes", "bytes", "d"),
        ("cpu_vs_anchor", "CPU / anchor", ".1f"),
    ]
    print(f"\n{args.backend}, {args.commitments:,} commitments, {args.requests} requests per route "
          "(stage columns: ms per request under cProfile, overlapping)")  # fmt: skip
    print(table(rows, columns))
    print(f"load average at end: {os.getloadavg()}")
    path = write_results(
        f"server_profile_{args.backend}",
        {"args": {k: str(v) for k, v in vars(args).items() if k != "pg_url"}, "rows": rows},
        args.out,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
