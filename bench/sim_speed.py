"""Simulator speed: the vectorised simulator against a SimPy event-driven model (the anchor).

Simulates frontier-2030 for one year, hourly: 1,000 trials (``--quick``: 20) with the vectorised
simulator, and a sample of the same trials with a straightforward SimPy implementation of the same
model: one SimPy process per outage, reclaim event, repair block, late delivery and training
interruption, and a dispatcher process that walks the pools and workloads of every hour in plain
Python. Both consume the same draws (common random numbers), so their metrics must agree; the
script checks that and prints pool-steps per second side by side. Writes
bench/results/sim_speed.json.

    pip install simpy            # bench dependency only (not needed by hyperplan)
    python bench/sim_speed.py [--quick] [--plan plan.json] [--workers N] [--sample K]

Targets (issue 4): at least 50x SimPy per core; 1,000 trials in under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from hyperplan.plan.api import Plan
from hyperplan.sim import SimConfig, simulate
from hyperplan.sim.dispatch import Acc
from hyperplan.sim.draws import draw_chunk
from hyperplan.sim.inputs import OD, SP, R, SimInputs, compile_plan
from hyperplan.sim.metrics import finish
from hyperplan.sim.runner import run_chunk

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "sim_speed.json"


# ------------------------------------------------------------------------------------------------
# The anchor: the same model, event-driven, one trial at a time, with SimPy.
# ------------------------------------------------------------------------------------------------
def simpy_trial(inp: SimInputs, cfg: SimConfig, seed: int, trial: int) -> dict[str, float]:
    """One trial of the model as a SimPy discrete-event simulation; its metrics."""
    import simpy

    dr = draw_chunk(inp, cfg, seed, np.array([trial]))
    env = simpy.Environment()
    S, dt, P, Pc = inp.steps, inp.step_hours, inp.n_pools, inp.n_cap
    D = len(inp.domains)
    hard = [0] * D
    cplane = [0] * D
    spot_idx = {int(p): j for j, p in enumerate(dr.spot_pools)}
    spot_active = [0] * P
    spot_new = [0] * P
    repair = [0.0] * P
    late = [0.0] * P
    late_usd_h = [0.0]  # USD per hour of reserved capacity not delivered yet
    fails_at: dict[int, list[tuple[int, float, float]]] = {}

    def outage(d: int, a: int, b: int, cp: bool):
        yield env.timeout(a)
        (cplane if cp else hard)[d] += 1
        yield env.timeout(b - a)
        (cplane if cp else hard)[d] -= 1

    def reclaim(p: int, a: int, b: int):
        yield env.timeout(a)
        spot_active[p] += 1
        spot_new[p] += 1
        yield env.timeout(b - a)
        spot_active[p] -= 1

    def repairs(p: int):
        for b in range(dr.repair.shape[1]):
            repair[p] = float(dr.repair[0, b, p])
            yield env.timeout(dr.repair_steps)

    first_step = [int(np.searchsorted(inp.period_of_step, t)) for t in range(len(inp.period_hours))]

    def delivery(c: int, delay: float):
        p, t0, n = int(inp.commit_pool[c]), int(inp.commit_start[c]), inp.commit_instances[c]
        a = first_step[t0]
        t1 = t0 + int(delay)
        b = first_step[t1] if t1 < len(first_step) else S
        usd = n * inp.commit_usd_per_hour[c]
        yield env.timeout(a)
        late[p] += n
        late_usd_h[0] += usd
        yield env.timeout(b - a)
        late[p] -= n
        late_usd_h[0] -= usd

    def interruptions(i: int):
        f = dr.failures[i]
        for k, ul, ut in zip(f["step"], f["u_loss"], f["u_thin"], strict=True):
            yield env.timeout(int(k) - env.now)
            fails_at.setdefault(int(k), []).append((i, float(ul), float(ut)))

    ev = dr.outage_events
    for d, a, b, cp in zip(ev["domain"], ev["a"], ev["b"], ev["cp"], strict=True):
        if b > a:
            env.process(outage(int(d), int(a), int(b), bool(cp)))
    se = dr.spot_events
    for j, a, b in zip(se["pool"], se["a"], se["b"], strict=True):
        env.process(reclaim(int(dr.spot_pools[j]), int(a), int(b)))
    for p in range(Pc):
        if dr.repair[0, :, p].any():
            env.process(repairs(p))
    for c in range(len(inp.commit_keys)):
        if dr.late_flags[0, c]:
            env.process(delivery(c, float(dr.late_delay[0, c])))
    for i in range(len(inp.runs)):
        env.process(interruptions(i))

    # plain-Python copies of the plan
    T = len(inp.period_hours)
    g = inp.gpus.tolist()
    Rl = inp.reserved.tolist()
    Z = inp.alloc.tolist()  # [w][market][t][p]
    perf = inp.perf.tolist()
    pod = np.nan_to_num(inp.price_od).tolist()
    psp = np.nan_to_num(inp.price_spot).tolist()
    headroom = inp.burst_headroom.tolist()
    prov = [int(inp.site_domains[s, 0]) for s in inp.pool_site]
    reg = [int(inp.site_domains[s, 1]) for s in inp.pool_site]
    spot_t = [bool((inp.spot[t, :Pc] > 0).any()) for t in range(T)]
    keep_frac = 1.0 - cfg.spot_fraction
    run_of = {run.w: i for i, run in enumerate(inp.runs)}
    W = len(inp.workloads)

    need_sum = [0.0] * W
    served_sum = [0.0] * W
    slo_steps = [0.0] * W
    tot = {"od": 0.0, "spot": 0.0, "burst": 0.0, "paid": 0.0, "useful": 0.0, "burst_gpu": 0.0}
    run_work = [0.0] * len(inp.runs)
    run_done = [False] * len(inp.runs)
    run_finish = [float("nan")] * len(inp.runs)
    run_fails = [0.0] * len(inp.runs)
    run_gross = [0.0] * len(inp.runs)
    run_lost = [0.0] * len(inp.runs)

    def step(k: int) -> None:
        t = int(inp.period_of_step[k])
        Rt = Rl[t]
        up = [
            0.0 if hard[prov[p]] > 0 or (reg[p] >= 0 and hard[reg[p]] > 0) else 1.0
            for p in range(Pc)
        ]
        blocked = [
            hard[prov[p]] + cplane[prov[p]] > 0
            or (reg[p] >= 0 and hard[reg[p]] + cplane[reg[p]] > 0)
            for p in range(P)
        ]
        rho = [0.0] * Pc
        for p in range(Pc):
            a = max(Rt[p] - late[p] - repair[p], 0.0) * up[p]
            rho[p] = a * (1.0 / Rt[p]) if Rt[p] > 0 else 0.0
        upS = list(up)
        if spot_t[t]:
            for p in spot_idx:
                upS[p] = up[p] * keep_frac ** spot_active[p]
        zr_all = [sum(Z[w][R][t][p] for w in range(W)) for p in range(Pc)]
        idle_static = [max(Rt[p] - zr_all[p], 0.0) for p in range(Pc)]
        idle = [rho[p] * idle_static[p] for p in range(Pc)]
        hold = {}
        for v in inp.others:
            zr = Z[v][R][t]
            if any(x > 0 for x in zr[:Pc]):
                hold[v] = [rho[p] * zr[p] for p in range(Pc)]
        tot["paid"] += sum(max(Rt[p] - late[p], 0.0) * g[p] for p in range(Pc)) * dt

        rem, lost, needs = {}, {}, {}
        for j, w in enumerate(inp.inference):
            need = inp.demand[w, t] * dr.shock[0, k, j]
            needs[w] = need
            zr, zo, zs, pw = Z[w][R][t], Z[w][OD][t], Z[w][SP][t], perf[w]
            own = sum(rho[p] * pw[p] * zr[p] for p in range(Pc))
            own += sum(up[p] * pw[p] * zo[p] for p in range(Pc))
            own += sum(upS[p] * pw[p] * zs[p] for p in range(Pc))
            served = min(need, own)
            uf = served / own if own > 0 else 0.0
            for p in range(Pc):
                if zr[p] > 0:
                    idle[p] += rho[p] * zr[p] * (1.0 - uf)
                    tot["useful"] += uf * rho[p] * g[p] * zr[p] * dt
                if zo[p] > 0:
                    used = uf * up[p] * g[p] * zo[p] * dt
                    tot["useful"] += used
                    tot["paid"] += used
                    tot["od"] += uf * up[p] * pod[t][p] * zo[p] * dt
                if zs[p] > 0:
                    used = uf * upS[p] * g[p] * zs[p] * dt
                    tot["useful"] += used
                    tot["paid"] += used
                    tot["spot"] += uf * upS[p] * psp[t][p] * zs[p] * dt
            r = need - served
            if r <= 1e-12 * max(need, 1.0):
                r = 0.0
            rem[w] = r
            planned = sum(pw[p] * (zr[p] + zo[p] + zs[p]) for p in range(Pc))
            lost[w] = max(min(need, planned) - own, 0.0)

        head = None
        for w in inp.inference:
            r, pw = rem[w], perf[w]
            if r > 0:
                inf_r = [sum(Z[x][R][t][p] for x in inp.inference) for p in range(Pc)]
                holders = [(idle, [idle_static[p] + inf_r[p] for p in range(Pc)], True)]
                holders += [
                    (hold[v], Z[v][R][t], bool(inp.preemptible[v]))
                    for v in inp.preempt_order
                    if v in hold
                ]
                for h, static, preemptible in holders:
                    if r <= 0:
                        break
                    want = r if preemptible else min(r, lost[w])
                    if want <= 0:
                        continue
                    got = gpu = 0.0
                    for p in range(Pc):
                        if pw[p] > 0 and static[p] > 0:
                            take = min(h[p] * pw[p], max(want - got, 0.0))
                            inst = take / pw[p]
                            h[p] -= inst
                            gpu += inst * g[p]
                            got += take
                    r = max(r - got, 0.0)
                    if not preemptible:
                        lost[w] = max(lost[w] - got, 0.0)
                    tot["useful"] += gpu * dt
                if r > 0 and (w, t) in inp.burst_order:
                    if head is None:
                        head = [0.0 if blocked[p] else headroom[t][p] for p in range(P)]
                    got = usd = gpu = 0.0
                    for p in inp.burst_order[(w, t)].tolist():
                        take = min(head[p] * pw[p], max(r - got, 0.0))
                        inst = take / pw[p]
                        head[p] -= inst
                        usd += inst * pod[t][p]
                        gpu += inst * g[p]
                        got += take
                    r = max(r - got, 0.0)
                    tot["burst"] += usd * dt
                    tot["burst_gpu"] += gpu * dt
                    tot["paid"] += gpu * dt
                    tot["useful"] += gpu * dt
            need = needs[w]
            need_sum[w] += need * dt
            served_sum[w] += (need - r) * dt
            if need > 0 and need - r < cfg.slo_fraction * need:
                slo_steps[w] += 1

        for v in inp.others:
            zr, zo, zs, pv = Z[v][R][t], Z[v][OD][t], Z[v][SP][t], perf[v]
            if not any(x > 0 for x in zr[:Pc] + zo[:Pc] + zs[:Pc]):
                if v not in run_of:
                    need_sum[v] += inp.demand[v, t] * dt
                continue
            h = hold.get(v)
            units = sum(h[p] * pv[p] for p in range(Pc)) if h else 0.0
            gpus_v = sum(h[p] * g[p] for p in range(Pc)) if h else 0.0
            for p in range(Pc):
                if zo[p] > 0:
                    units += up[p] * pv[p] * zo[p]
                    gpus_v += up[p] * g[p] * zo[p]
                    tot["paid"] += up[p] * g[p] * zo[p] * dt
                    tot["od"] += up[p] * pod[t][p] * zo[p] * dt
                if zs[p] > 0:
                    units += upS[p] * pv[p] * zs[p]
                    gpus_v += upS[p] * g[p] * zs[p]
                    tot["paid"] += upS[p] * g[p] * zs[p] * dt
                    tot["spot"] += upS[p] * psp[t][p] * zs[p] * dt
                    if p in spot_idx:
                        lost_h = cfg.spot_fraction * zs[p] * g[p] * inp.spot_lost_hours[p]
                        tot["useful"] -= spot_new[p] * up[p] * lost_h
            if v in run_of:
                i = run_of[v]
                run = inp.runs[i]
                gp = run.gpus_plan[t]
                phi = gpus_v / gp if gp > 0 else 0.0
                kept = [(ul, ut) for (ri, ul, ut) in fails_at.get(k, []) if ri == i and ut < phi]
                lossh = sum(
                    cfg.restart_hours + ul * cfg.checkpoint_interval_hours for ul, _ in kept
                )
                net = units * dt - lossh * units
                if not run_done[i]:
                    new = run_work[i] + net
                    if new >= run.compute * (1 - 1e-12):
                        frac = (
                            min(max((run.compute - run_work[i]) / net, 0.0), 1.0)
                            if net > 0
                            else 1.0
                        )
                        run_gross[i] += gpus_v * frac * dt
                        run_finish[i] = (k + frac) * dt
                        run_done[i] = True
                    else:
                        run_gross[i] += gpus_v * dt
                    run_fails[i] += len(kept)
                    run_lost[i] += lossh * gpus_v
                    run_work[i] = new
                continue
            demand = inp.demand[v, t]
            served = min(units, demand)
            need_sum[v] += demand * dt
            served_sum[v] += served * dt
            if units > 0:
                tot["useful"] += gpus_v * (served / units) * dt
        for p in spot_idx:
            spot_new[p] = 0

    late_usd = [0.0]

    def dispatcher():
        yield env.timeout(0.5)  # mid-step: every event of the step boundary has happened
        for k in range(S):
            step(k)
            late_usd[0] += late_usd_h[0] * dt
            yield env.timeout(1)

    env.process(dispatcher())
    env.run()

    acc = Acc.new(inp, 1)
    for w in range(W):
        acc.need[w][:] = need_sum[w]
        acc.served[w][:] = served_sum[w]
        acc.slo_steps[w][:] = slo_steps[w]
    acc.ondemand_usd[:] = tot["od"]
    acc.spot_usd[:] = tot["spot"]
    acc.burst_usd[:] = tot["burst"]
    acc.paid_gpu_h[:] = tot["paid"]
    acc.useful_gpu_h[:] = tot["useful"]
    acc.burst_gpu_h[:] = tot["burst_gpu"]
    for i in range(len(inp.runs)):
        acc.run_work[i][:] = run_work[i]
        acc.run_done[i][:] = run_done[i]
        acc.run_finish[i][:] = run_finish[i]
        acc.run_failures[i][:] = run_fails[i]
        acc.run_gross_gpu_h[i][:] = run_gross[i]
        acc.run_lost_gpu_h[i][:] = run_lost[i]
    dr.late_usd = np.array(late_usd)
    return {k: float(v[0]) for k, v in finish(inp, dr, acc).items()}


def max_rel_diff(a: dict[str, float], b: dict[str, float]) -> tuple[float, str]:
    """Largest relative difference between two metric dicts, and where."""
    worst, where = 0.0, ""
    for k in a:
        x, y = a[k], b[k]
        if np.isnan(x) and np.isnan(y):
            continue
        d = abs(x - y) / max(1.0, abs(x), abs(y))
        if d > worst:
            worst, where = d, k
    return worst, where


# ------------------------------------------------------------------------------------------------
def get_plan(path: str | None) -> Plan:
    if path:
        return Plan.from_json(path)
    from hyperplan.plan import plan
    from hyperplan.scenario.load import load_scenario

    return plan(load_scenario(ROOT / "examples" / "frontier-2030.yaml"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20 trials, 1 SimPy trial")
    ap.add_argument("--plan", help="plan.json (default: plan examples/frontier-2030.yaml)")
    ap.add_argument("--trials", type=int, help="vectorised trials (default 1000; quick 20)")
    ap.add_argument("--workers", type=int, default=2, help="processes for the full run")
    ap.add_argument("--sample", type=int, help="SimPy trials (default 3; quick 1)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    trials = args.trials or (20 if args.quick else 1000)
    sample = args.sample or (1 if args.quick else 3)
    cfg = SimConfig()

    t0 = time.perf_counter()
    plan = get_plan(args.plan)
    plan_s = time.perf_counter() - t0
    inp = compile_plan(plan, years=1.0, step_hours=1.0, config=cfg)
    P, S = inp.n_pools, inp.steps
    print(f"{plan.scenario_name}: {P} pools x {S} hourly steps (planned in {plan_s:.1f} s)")

    # SimPy anchor on a sample of trials, checked against the vectorised model on the same trials
    try:
        import simpy  # noqa: F401
    except ImportError:
        sys.exit("simpy is a bench dependency: pip install simpy")
    simpy_s, worst = 0.0, (0.0, "")
    for trial in range(sample):
        t = time.perf_counter()
        ref = simpy_trial(inp, cfg, args.seed, trial)
        simpy_s += time.perf_counter() - t
        vec = {k: float(v[0]) for k, v in run_chunk(inp, cfg, args.seed, trial, 1).items()}
        worst = max(worst, max_rel_diff(ref, vec))
    simpy_rate = sample * S * P / simpy_s
    print(f"SimPy anchor: {sample} trials in {simpy_s:.1f} s = {simpy_rate:,.0f} pool-steps/s")
    print(
        f"  agreement with the vectorised model: max relative difference {worst[0]:.1e} {worst[1]}"
    )

    # vectorised, one process (per core)
    n1 = min(trials, 64)
    t = time.perf_counter()
    simulate(plan, trials=n1, seed=args.seed, workers=1, config=cfg)
    one_s = time.perf_counter() - t
    one_rate = n1 * S * P / one_s
    print(f"vectorised, 1 process: {n1} trials in {one_s:.1f} s = {one_rate:,.0f} pool-steps/s")
    print(f"  speed-up per core: {one_rate / simpy_rate:,.0f}x SimPy (target >= 50x)")

    # vectorised, the full run on the process pool
    t = time.perf_counter()
    res = simulate(plan, trials=trials, seed=args.seed, workers=args.workers, config=cfg)
    full_s = time.perf_counter() - t
    full_rate = trials * S * P / full_s
    print(
        f"vectorised, {args.workers} processes: {trials} trials in {full_s:.1f} s "
        f"= {full_rate:,.0f} pool-steps/s (target: 1,000 trials < 60 s on 2 cores)"
    )
    summary = res.summary().set_index("metric")
    keep = ["cost_usd", "burst_usd", "goodput", "unserved_token_hours"]
    print(summary.loc[[k for k in keep if k in summary.index], ["mean", "p50", "p95", "p99"]])

    out = {
        "scenario": plan.scenario_name,
        "quick": args.quick,
        "pools": P,
        "steps": S,
        "seed": args.seed,
        "simpy": {"trials": sample, "seconds": simpy_s, "pool_steps_per_second": simpy_rate},
        "agreement_max_rel_diff": worst[0],
        "vectorised_1_process": {
            "trials": n1,
            "seconds": one_s,
            "pool_steps_per_second": one_rate,
            "speedup_vs_simpy": one_rate / simpy_rate,
        },
        "vectorised_pool": {
            "workers": args.workers,
            "trials": trials,
            "seconds": full_s,
            "pool_steps_per_second": full_rate,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1_5_15min_at_end": list(os.getloadavg()),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "platform": platform.platform(),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    from hyperplan.fileio import write_text_atomic

    write_text_atomic(RESULTS, json.dumps(out, indent=1))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
