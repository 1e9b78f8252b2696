"""Server load: read latency and throughput of ``hyperplan serve`` while workers solve.

For each backend (SQLite, PostgreSQL): a ledger of ``--commitments`` commitments (default
100,000, bulk-inserted through the ledger's models in one transaction, with contracts and an
audit log), a real ``hyperplan serve`` process and ``--workers`` real ``hyperplan worker``
processes solving plan jobs (examples/small.yaml, queued again as they finish) during the
measurement. A driver on the loopback runs ``--readers`` concurrent readers of the ledger and
job endpoints, each asking for them in turn and pausing a random think time (exponential, mean
``--think`` s) between requests, for ``--duration`` seconds (bounded also by
``--max-requests``); a second phase without think time measures the saturated throughput.

The driver is ``wrk`` (C, one connection per wrk thread; bench/server_load.lua times each
request and names its route) when it is installed (Debian: ``apt-get install wrk``): it takes
little of the CPU the server needs. Without it, an async httpx driver (``--driver httpx``),
which on 2 cores competes with the server for the CPU and inflates the tail.
``--server-workers N`` runs ``hyperplan serve --workers N``.

Anchor (measured in the same run, under the same load): ``GET /api/v1/health``, a route that
goes through the same app, auth-free, without a database query: the floor of the framework,
the loopback and the driver on this machine. Each endpoint's p50 is also shown as a ratio to it.

    python bench/server_load.py [--backends sqlite postgresql] [--commitments N] [--readers N]
                                [--duration S] [--think S] [--workers N] [--server-workers N]
                                [--driver auto|wrk|httpx] [--quick] [--out JSON]

Target (issue 15): reads p99 < 100 ms on this 2-core machine. Writes
bench/results/server_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, table, write_results

SMALL = (ROOT / "examples" / "small.yaml").read_text()
WS = "bench"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PAGE = 100
"""Rows per page the readers ask for (a screen of a console; the API's default is 1000)."""


# ----------------------------------------------------------------------------------------------
# The ledger: bulk insert through the models
# ----------------------------------------------------------------------------------------------
def fill(url: str, n: int, seed: int = 7) -> dict[str, Any]:
    """Create the schema and ``n`` commitments, 20 contracts and ``n // 10`` audit rows in one
    transaction, then ``ANALYZE``; tokens for the readers (viewer) and the job feeder
    (planner)."""
    import datetime as dt

    import pandas as pd
    from sqlalchemy import insert

    from hyperplan.ledger import access
    from hyperplan.ledger.db import open_ledger
    from hyperplan.ledger.models import AuditEntry, Commitment, Contract, Workspace

    rng = np.random.default_rng(seed)
    ledger = open_ledger(url)
    t0 = time.perf_counter()
    now = dt.datetime(2026, 12, 6, 12, 0, 0)
    providers = np.array(["aws", "azure", "gcp", "oci", "nebius", "lambda"])
    regions = np.array(
        ["us-east-1", "eastus", "us-central1", "us-ashburn-1", "eu-north1", "us-south-1"]
    )
    offers = np.array(
        [
            "p5.48xlarge",
            "ND96isr_H100_v5",
            "a3-highgpu-8g",
            "BM.GPU.H100.8",
            "gpu-h100-8",
            "gpu_8x_h100",
        ]
    )
    states = np.array(["proposed", "approved", "signed", "active", "expired", "cancelled"])
    with ledger.transaction() as s:
        ws = Workspace(name=WS, ledger_version=n // 10, created_at=now)
        s.add(ws)
        s.flush()
        p = rng.integers(0, 6, n)
        term = rng.choice([1, 3], n)
        start_month = rng.integers(0, 48, n)
        start = pd.to_datetime("2027-01-01") + pd.to_timedelta(start_month * 30, unit="D")
        start = start.normalize().date
        end = [d.replace(year=d.year + int(t)) for d, t in zip(start, term, strict=True)]
        qty = np.round(rng.lognormal(2.0, 1.2, n), 3)
        price = np.round(rng.uniform(2.0, 98.0, n), 4)
        frame = pd.DataFrame(
            {
                "workspace_id": ws.id,
                "kind": "reserved",
                "provider": providers[p],
                "region": regions[p],
                "offer": offers[p],
                "accelerator": "H100",
                "term_years": term,
                "start": start,
                "end": end,
                "quantity": qty,
                "usd_per_hour": price,
                "value_usd": qty * price * 8760 * term,
                "state": states[rng.integers(0, 6, n)],
                "created_at": now,
                "updated_at": now,
            }
        )
        columns = {c.key for c in Commitment.__table__.columns}
        frame = frame[[c for c in frame.columns if c in columns]]
        s.execute(insert(Commitment), frame.to_dict("records"))
        s.execute(
            insert(Contract),
            [
                {
                    "workspace_id": ws.id,
                    "name": f"{providers[i % 6]}-edp-{i}",
                    "provider": str(providers[i % 6]),
                    "committed_usd": 1e8 * (1 + i),
                    "start": dt.date(2027, 1, 1),
                    "end": dt.date(2030, 1, 1),
                    "discount": 0.1,
                    "created_at": now,
                }
                for i in range(20)
            ],
        )
        audit = pd.DataFrame(
            {
                "workspace_id": ws.id,
                "ledger_version": np.arange(1, n // 10 + 1),
                "at": now,
                "actor": "bench",
                "action": "create",
                "entity": "commitment",
                "entity_id": np.arange(1, n // 10 + 1),
                "before": None,
                "after": [{"state": "proposed"}] * (n // 10),
            }
        )
        keep = {c.key for c in AuditEntry.__table__.columns}
        s.execute(
            insert(AuditEntry), audit[[c for c in audit.columns if c in keep]].to_dict("records")
        )
    seconds = time.perf_counter() - t0
    # planner statistics, as a ledger in service has them (PostgreSQL's autovacuum analyses a
    # table within a minute of a bulk change; without them it sorts a whole workspace per page)
    with ledger.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    viewer = access.create_token(ledger, "reader", WS, "viewer", author="bench")[0]
    planner = access.create_token(ledger, "feeder", WS, "planner", author="bench")[0]
    ledger.dispose()
    return {"fill_s": seconds, "viewer": viewer, "planner": planner}


# ----------------------------------------------------------------------------------------------
# Processes
# ----------------------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def start(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hyperplan.cli", *args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------------------------
# The driver
# ----------------------------------------------------------------------------------------------
def endpoints(n: int, job_ids: list[int]) -> list[tuple[str, str]]:
    """(name, path template) of what readers ask for, the anchor last. In a template,
    ``{rand:N}`` stands for a random integer in [0, N) and ``{pick:a,b}`` for one of a, b (both
    drivers expand them per request)."""
    jobs = ",".join(str(j) for j in job_ids)
    return [
        ("commitments page", f"/api/v1/{WS}/commitments?limit={PAGE}&after={{rand:{n}}}"),
        ("commitments ?state", f"/api/v1/{WS}/commitments?limit={PAGE}&state=signed&after={{rand:{n}}}"),
        ("contracts", f"/api/v1/{WS}/contracts"),
        ("audit page", f"/api/v1/{WS}/audit?limit={PAGE}&after={{rand:{max(1, n // 10)}}}"),
        ("jobs list", f"/api/v1/{WS}/jobs?limit=20"),
        ("job show", f"/api/v1/{WS}/jobs/{{pick:{jobs}}}"),
        ("workspace", f"/api/v1/{WS}"),
        ("health (anchor)", "/api/v1/health"),
    ]  # fmt: skip


def expand(template: str, r: np.random.Generator) -> str:
    """A path of ``template`` (see :func:`endpoints`) with random values drawn from ``r``."""
    path = re.sub(r"\{rand:(\d+)\}", lambda m: str(int(r.integers(0, int(m[1])))), template)
    return re.sub(r"\{pick:([\d,]+)\}", lambda m: str(r.choice(m[1].split(","))), path)


def summarise(
    names: list[str], lat: dict[str, list[float]], errors: dict[str, int], wall: float
) -> dict[str, Any]:
    """Per-endpoint and overall read percentiles (ms) of latencies in seconds; the anchor (the
    last name) is not a read."""
    rows = []
    for name in names:
        x = np.asarray(lat[name]) * 1000
        rows.append(
            {
                "endpoint": name,
                "requests": len(x),
                "errors": errors[name],
                "p50_ms": float(np.percentile(x, 50)) if len(x) else None,
                "p99_ms": float(np.percentile(x, 99)) if len(x) else None,
                "max_ms": float(x.max()) if len(x) else None,
            }
        )
    anchor = rows[-1]["p50_ms"]
    for row in rows:
        row["p50_vs_anchor"] = row["p50_ms"] / anchor if row["p50_ms"] and anchor else None
    reads = np.concatenate([np.asarray(lat[n], dtype=float) for n in names[:-1]]) * 1000
    total = sum(len(v) for v in lat.values())
    return {
        "rows": rows,
        "wall_s": wall,
        "throughput_rps": total / wall,
        "reads_p50_ms": float(np.percentile(reads, 50)) if len(reads) else None,
        "reads_p99_ms": float(np.percentile(reads, 99)) if len(reads) else None,
        "anchor_p99_ms": rows[-1]["p99_ms"],
        "errors": sum(errors.values()),
    }


async def drive(
    base: str,
    token: str,
    routes: list[tuple[str, str]],
    readers: int,
    duration: float,
    think: float,
    max_requests: int,
    seed: int,
) -> dict[str, Any]:
    """The async httpx driver (when wrk is absent): ``readers`` coroutines asking ``routes`` in
    turn until ``duration`` or ``max_requests``; latency per route, errors, throughput."""
    import httpx

    names = [name for name, _ in routes]
    lat: dict[str, list[float]] = {name: [] for name in names}
    errors: dict[str, int] = dict.fromkeys(names, 0)
    sent = 0
    end = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=readers, max_keepalive_connections=readers)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:

        async def reader(i: int) -> None:
            nonlocal sent
            r = np.random.default_rng([seed, i])
            k = i % len(routes)
            while time.perf_counter() < end and sent < max_requests:
                sent += 1
                name, template = routes[k]
                t0 = time.perf_counter()
                try:
                    resp = await c.get(expand(template, r))
                    ok = resp.status_code == 200
                    await resp.aread()
                except httpx.HTTPError:
                    ok = False
                if ok:
                    lat[name].append(time.perf_counter() - t0)
                else:
                    errors[name] += 1
                k = (k + 1) % len(routes)
                if think > 0:
                    await asyncio.sleep(float(r.exponential(think)))

        t0 = time.perf_counter()
        await asyncio.gather(*(reader(i) for i in range(readers)))
        wall = time.perf_counter() - t0
    return {"driver": "httpx", **summarise(names, lat, errors, wall)}


def drive_wrk(
    wrk: str,
    base: str,
    token: str,
    routes: list[tuple[str, str]],
    readers: int,
    duration: float,
    think: float,
    max_requests: int,
    seed: int,
) -> dict[str, Any]:
    """The wrk driver (C, event loop per thread; bench/server_load.lua times each request):
    ``readers`` connections, one per wrk thread, each asking ``routes`` in turn with its think
    time, for ``duration`` seconds or ``max_requests`` in all."""
    names = [name for name, _ in routes]
    env = {
        **os.environ,
        "HP_TOKEN": token,
        "HP_ROUTES": "\n".join(f"{name}\t{template}" for name, template in routes),
        "HP_THINK_MS": str(think * 1000),
        "HP_MAX": str(-(-max_requests // readers)),
        "HP_SEED": str(seed),
    }
    script = Path(__file__).resolve().parent / "server_load.lua"
    cmd = [wrk, "-t", str(readers), "-c", str(readers), "-d", f"{duration:g}s",
           "--timeout", "30s", "-s", str(script), base]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=duration + 120, check=False
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr[-2000:]}")
    lat: dict[str, list[float]] = {name: [] for name in names}
    errors: dict[str, int] = dict.fromkeys(names, 0)
    socket_errors: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        kind, *fields = line.split()
        if kind == "L":
            lat[names[int(fields[0]) - 1]].append(float(fields[1]) / 1e6)
        elif kind == "E":
            errors[names[int(fields[0]) - 1]] += int(fields[1])
        elif kind == "S":
            wall = int(fields[1]) / 1e6  # wrk's own measured duration
            # wrk's counts; "status" (>= 400) are the E lines already
            connect, read, write, _status, timeout = (int(f) for f in fields[2:7])
            socket_errors = {"connect": connect, "read": read, "write": write, "timeout": timeout}
    out = summarise(names, lat, errors, wall)
    out["socket_errors"] = socket_errors  # no route known for these
    out["errors"] += sum(socket_errors.values())
    return {"driver": "wrk", **out}


def run_backend(backend: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    import httpx

    admin = None
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'ledger.db'}"
    else:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"hp_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        filled = fill(url, args.commitments)
        print(
            f"[{backend}] {args.commitments:,} commitments inserted in {filled['fill_s']:.1f} s",
            flush=True,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = ["serve", "--db", url, "--port", str(port), "--log-level", "warning"]
        procs.append(start([*serve, "--workers", str(args.server_workers)], folder))
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        feed = {"Authorization": f"Bearer {filled['planner']}"}
        jobs_queued = max(4, args.workers * int(2 + args.duration * 2 / 8))
        job_ids = []
        for _ in range(jobs_queued):
            r = httpx.post(
                f"{base}/api/v1/{WS}/jobs",
                json={"kind": "plan", "scenario_yaml": SMALL},
                headers=feed,
                timeout=60,
            )
            r.raise_for_status()
            job_ids.append(r.json()["id"])
        for i in range(args.workers):
            procs.append(
                start(["worker", "--db", url, "--poll", "0.5", "--name", f"bench-{i}"], folder)
            )
        time.sleep(2.0)  # the workers claim and start solving
        routes = endpoints(args.commitments, job_ids)
        phases = {}
        for phase, think in (("think", args.think), ("saturated", 0.0)):
            print(f"[{backend}] {phase}: {args.readers} readers, {args.duration:g} s", flush=True)
            drive_args = (base, filled["viewer"], routes, args.readers, args.duration, think,
                          args.max_requests, args.seed)  # fmt: skip
            if args.driver == "wrk":
                phases[phase] = drive_wrk(args.wrk, *drive_args)
            else:
                phases[phase] = asyncio.run(drive(*drive_args))
        done = httpx.get(
            f"{base}/api/v1/{WS}/jobs", params={"limit": 1000}, headers=feed, timeout=30
        ).json()
        solved = sum(1 for j in done if j["state"] == "succeeded")
        return {
            "backend": backend,
            "fill_s": filled["fill_s"],
            "jobs_succeeded_during_run": solved,
            "jobs_queued": jobs_queued,
            **phases,
        }
    finally:
        for p in reversed(procs):
            stop(p)
        if admin is not None:
            from sqlalchemy import text

            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    ap.add_argument("--commitments", type=int, default=100_000)
    ap.add_argument("--readers", type=int, default=50)
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    ap.add_argument("--think", type=float, default=0.5, help="mean think time of a reader, s")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--server-workers", type=int, default=1, help="hyperplan serve --workers")
    ap.add_argument(
        "--driver",
        choices=["auto", "wrk", "httpx"],
        default="auto",
        help="wrk when installed (auto), else the async httpx driver",
    )
    ap.add_argument("--max-requests", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pg-url", default=os.environ.get("HYPERPLAN_TEST_POSTGRES_URL") or PG_ADMIN)
    ap.add_argument(
        "--quick", action="store_true", help="2,000 commitments, 10 readers, 3 s, SQLite"
    )
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.quick:
        args.commitments, args.readers, args.duration, args.workers = 2000, 10, 3.0, 1
        args.backends = ["sqlite"]
    args.wrk = shutil.which("wrk")
    if args.driver == "auto":
        args.driver = "wrk" if args.wrk else "httpx"
        if args.wrk is None:
            print("wrk not found (apt-get install wrk): the async httpx driver shares the "
                  "CPU with the server", file=sys.stderr)  # fmt: skip
    elif args.driver == "wrk" and args.wrk is None:
        sys.exit("--driver wrk: wrk is not installed (apt-get install wrk)")
    print(f"load average at start: {os.getloadavg()}; driver {args.driver}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="hp-bench-") as folder:
        for backend in args.backends:
            results.append(run_backend(backend, args, Path(folder)))
    columns = [
        ("endpoint", "endpoint", ""),
        ("requests", "requests", "d"),
        ("errors", "errors", "d"),
        ("p50_ms", "p50 ms", ".1f"),
        ("p99_ms", "p99 ms", ".1f"),
        ("max_ms", "max ms", ".0f"),
        ("p50_vs_anchor", "p50 / anchor", ".1f"),
    ]
    for res in results:
        for phase in ("think", "saturated"):
            ph = res[phase]
            think = f"think {args.think:g} s" if phase == "think" else "no think time"
            print(f"\n{res['backend']}, {args.commitments:,} commitments, {args.readers} readers ({think}, "
                  f"{ph['driver']}), {args.server_workers} server process(es), {args.workers} workers "
                  f"solving ({res['jobs_succeeded_during_run']} jobs done)")  # fmt: skip
            print(table(ph["rows"], columns))
            print(f"reads: p50 {ph['reads_p50_ms']:.1f} ms, p99 {ph['reads_p99_ms']:.1f} ms "
                  f"(anchor p99 {ph['anchor_p99_ms']:.1f} ms); throughput "
                  f"{ph['throughput_rps']:.0f} requests/s; errors {ph['errors']}")  # fmt: skip
    print(f"\nload average at end: {os.getloadavg()}")
    path = write_results(
        "server_load",
        {
            "args": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in vars(args).items()
                if k != "pg_url"
            },
            "results": results,
        },
        args.out,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
