"""Vectorised dispatch: every step of a block of steps, for every trial of a chunk, at once.

Arrays are ``(m trials, n steps, P pools)`` and C-contiguous; a block never crosses a plan
period, so every plan quantity is a constant vector over pools inside it. Python loops run over
workloads and over the holders inference may preempt (a handful), never over trials, steps or
pools. Allocation across pools is a water-fill: a cumulative sum over the pool axis, in
preference order, restricted to the pools that can give anything.

The policy, each step (docs/simulation.md):

1. inference on its planned pools (reserved, planned on-demand and spot that are up);
2. the rest of its demand fails over to surviving reserved capacity: idle reserved instances
   first, then instances of other workloads, lowest priority first. Work that is not
   preemptible (a training run) gives way only to make up for capacity *lost* (outages, repairs,
   late deliveries, reclaims), never for inference demand above the plan;
3. then on-demand burst within the caps, cheapest per unit first, where neither the provider nor
   its control plane is down;
4. else unserved.

Then training runs progress on what is left of their instances (less restarts and lost work
after interruptions), then batch and agents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hyperplan.sim.draws import Draws
from hyperplan.sim.inputs import OD, SP, R, SimInputs
from hyperplan.sim.models import SimConfig

_TINY = 1e-12


@dataclass
class Acc:
    """Per-trial accumulators of one chunk."""

    m: int
    need: dict[int, np.ndarray] = field(default_factory=dict)
    served: dict[int, np.ndarray] = field(default_factory=dict)
    slo_steps: dict[int, np.ndarray] = field(default_factory=dict)
    ondemand_usd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    spot_usd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    burst_usd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    paid_gpu_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    useful_gpu_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    burst_gpu_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    run_work: list[np.ndarray] = field(default_factory=list)
    run_done: list[np.ndarray] = field(default_factory=list)
    run_finish: list[np.ndarray] = field(default_factory=list)
    run_failures: list[np.ndarray] = field(default_factory=list)
    run_gross_gpu_h: list[np.ndarray] = field(default_factory=list)
    run_lost_gpu_h: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def new(cls, inp: SimInputs, m: int) -> Acc:
        acc = cls(m=m)
        for w in range(len(inp.workloads)):
            acc.need[w] = np.zeros(m)
            acc.served[w] = np.zeros(m)
            acc.slo_steps[w] = np.zeros(m)
        for name in (
            "ondemand_usd",
            "spot_usd",
            "burst_usd",
            "paid_gpu_h",
            "useful_gpu_h",
            "burst_gpu_h",
        ):
            setattr(acc, name, np.zeros(m))
        for _ in inp.runs:
            acc.run_work.append(np.zeros(m))
            acc.run_done.append(np.zeros(m, dtype=bool))
            acc.run_finish.append(np.full(m, np.nan))
            acc.run_failures.append(np.zeros(m))
            acc.run_gross_gpu_h.append(np.zeros(m))
            acc.run_lost_gpu_h.append(np.zeros(m))
        return acc


def _mv(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(m, n, P) @ (P,) -> (m, n) as one matrix-vector product."""
    m, n, P = a.shape
    return (a.reshape(m * n, P) @ v).reshape(m, n)


def _fill(
    hold: np.ndarray,
    cols: np.ndarray,
    perf: np.ndarray,
    gpus: np.ndarray,
    r: np.ndarray,
    limit: np.ndarray | None = None,
) -> np.ndarray:
    """Water-fill: take up to ``r`` demand units from ``hold`` (instances) in pools ``cols``.

    ``perf`` and ``gpus`` are per pool of ``cols`` (perf > 0). With ``limit``, take at most
    ``min(r, limit)`` and lower ``limit`` by what was taken. Updates ``hold``, ``r`` (and
    ``limit``) in place; returns the GPUs taken, summed over steps, per trial.
    """
    m, n, P = hold.shape
    if not (hold.flags.c_contiguous and r.flags.c_contiguous):
        raise ValueError("water-fill arrays must be C-contiguous")
    h2, r1 = hold.reshape(m * n, P), r.reshape(m * n)
    want = r1 if limit is None else np.minimum(r1, limit.reshape(m * n))
    rows = np.flatnonzero(want > 0)
    if rows.size == 0:
        return np.zeros(m)
    at = np.ix_(rows, cols)
    sub = h2[at]
    units = sub * perf
    cum = np.cumsum(units, axis=1)
    cum -= units  # units of the pools before each pool
    take = want[rows][:, None] - cum
    np.clip(take, 0.0, units, out=take)
    inst = take / perf
    h2[at] = sub - inst
    got = take.sum(axis=1)
    r1[rows] = np.maximum(r1[rows] - got, 0.0)
    if limit is not None:
        lim = limit.reshape(m * n)
        lim[rows] = np.maximum(lim[rows] - got, 0.0)
    return np.bincount(rows // n, weights=inst @ gpus, minlength=m)


def _burst(
    head: np.ndarray,
    order: np.ndarray,
    perf: np.ndarray,
    price: np.ndarray,
    gpus: np.ndarray,
    r: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """On-demand burst from ``head`` (instances obtainable; inf: no cap), cheapest first.

    Returns (USD per hour, GPUs), summed over steps, per trial; updates ``head`` and ``r``.
    """
    m, n, P = head.shape
    if not (head.flags.c_contiguous and r.flags.c_contiguous):
        raise ValueError("burst arrays must be C-contiguous")
    h2, r1 = head.reshape(m * n, P), r.reshape(m * n)
    rows = np.flatnonzero(r1 > 0)
    if rows.size == 0:
        return np.zeros(m), np.zeros(m)
    at = np.ix_(rows, order)
    sub = h2[at]
    pf = perf[order]
    units = sub * pf  # inf where there is no cap
    cum = np.zeros_like(units)
    np.cumsum(units[:, :-1], axis=1, out=cum[:, 1:])  # exclusive: inf-safe
    take = r1[rows][:, None] - cum
    np.clip(take, 0.0, units, out=take)
    inst = take / pf
    h2[at] = sub - inst
    r1[rows] = np.maximum(r1[rows] - take.sum(axis=1), 0.0)
    trial = rows // n
    return (
        np.bincount(trial, weights=inst @ price[order], minlength=m),
        np.bincount(trial, weights=inst @ gpus[order], minlength=m),
    )


def dispatch_block(
    inp: SimInputs, cfg: SimConfig, dr: Draws, acc: Acc, t: int, k0: int, k1: int
) -> None:
    """Dispatch steps ``k0..k1-1`` (all in period ``t``) of every trial of the chunk."""
    m, n, Pc = acc.m, k1 - k0, inp.n_cap
    dt = inp.step_hours
    g = inp.gpus[:Pc]
    Rt = inp.reserved[t, :Pc]
    z = inp.alloc[:, :, t, :Pc]  # (W, 3, Pc)
    price_od = np.nan_to_num(inp.price_od[t, :Pc])
    price_sp = np.nan_to_num(inp.price_spot[t, :Pc])
    site = inp.pool_site[:Pc]

    # availability of the capacity pools; the (m, n, Pc) arrays are C-contiguous
    upf = np.subtract(1.0, np.take(dr.hard_site[:, k0:k1, :], site, axis=2), dtype=np.float64)
    blk = np.arange(k0, k1) // dr.repair_steps
    late = dr.late[:, t, :Pc]
    avail = np.empty((m, n, Pc))
    np.subtract(Rt, late[:, None, :], out=avail)
    avail -= dr.repair[:, blk, :Pc]
    np.maximum(avail, 0.0, out=avail)
    avail *= upf
    invR = np.divide(1.0, Rt, out=np.zeros(Pc), where=Rt > 0)
    rho = avail
    rho *= invR  # share of the planned reserved instances that are there
    if len(dr.spot_pools) and (inp.spot[t, :Pc] > 0).any():
        upS = upf.copy()
        active = dr.spot_active[:, k0:k1, :]
        remain = (1.0 - cfg.spot_fraction) ** np.arange(int(active.max(initial=0)) + 1)
        upS[:, :, dr.spot_pools] *= np.take(remain, active)  # (1 - f) ** events in progress
    else:
        upS = upf
    # the pay-as-you-go markets: availability, price, the accumulator of its spend, index
    markets = ((upf, price_od, acc.ondemand_usd, OD), (upS, price_sp, acc.spot_usd, SP))

    # reserved instances nobody planned to use, and the holdings inference may preempt
    zr_all = z[:, R, :].sum(axis=0)
    idle_static = np.clip(Rt - zr_all, 0.0, None)
    idle = rho * idle_static
    hold: dict[int, np.ndarray] = {v: rho * z[v, R] for v in inp.others if (z[v, R] > 0).any()}

    # reserved instances are paid once delivered, up or down
    acc.paid_gpu_h += (np.clip(Rt - late, 0.0, None) @ g) * (n * dt)

    # --- 1. inference on its own planned pools ------------------------------------------------
    rem: dict[int, np.ndarray] = {}
    lost: dict[int, np.ndarray] = {}
    needs: dict[int, np.ndarray] = {}
    for j, w in enumerate(inp.inference):
        need = inp.demand[w, t] * dr.shock[:, k0:k1, j]
        needs[w] = need
        zr, zo, zs = z[w, R], z[w, OD], z[w, SP]
        pw = inp.perf[w, :Pc]
        own = _mv(rho, pw * zr)
        for up, _, _, mk in markets:
            if (z[w, mk] > 0).any():
                own += _mv(up, pw * z[w, mk])
        served = np.minimum(need, own)
        uf = np.divide(served, own, out=np.zeros_like(own), where=own > 0)
        if (zr > 0).any():
            idle += rho * zr * (1.0 - uf)[:, :, None]
            acc.useful_gpu_h += np.einsum("ij,ij->i", uf, _mv(rho, g * zr)) * dt
        for up, price, usd, mk in markets:
            if (z[w, mk] > 0).any():
                used = np.einsum("ij,ij->i", uf, _mv(up, g * z[w, mk])) * dt
                acc.useful_gpu_h += used
                acc.paid_gpu_h += used
                usd += np.einsum("ij,ij->i", uf, _mv(up, price * z[w, mk])) * dt  # in place
        r = need - served
        r[r <= _TINY * np.maximum(need, 1.0)] = 0.0
        rem[w] = r
        # the part of the shortfall due to lost capacity (not to demand above the plan)
        planned = float(pw @ (zr + zo + zs))
        lost[w] = np.maximum(np.minimum(need, planned) - own, 0.0)

    # --- 2.-4. failover, burst, unserved: one inference workload at a time, by priority -------
    head = None
    for w in inp.inference:
        r = rem[w]
        pw_all = inp.perf[w]
        pw = pw_all[:Pc]
        if r.any():
            inf_r = z[inp.inference, R].sum(axis=0)
            holders = [(idle, idle_static + inf_r, True)]
            holders += [
                (hold[v], z[v, R], bool(inp.preemptible[v])) for v in inp.preempt_order if v in hold
            ]
            for h, static, preemptible in holders:
                if not r.any():
                    break
                cols = np.flatnonzero((pw > 0) & (static > 0))
                if cols.size == 0:
                    continue
                limit = None if preemptible else lost[w]
                acc.useful_gpu_h += _fill(h, cols, pw[cols], g[cols], r, limit) * dt
            if r.any() and (w, t) in inp.burst_order:
                if head is None:
                    blocked = np.take(dr.block_site[:, k0:k1, :], inp.pool_site, axis=2)
                    head = np.where(blocked, 0.0, inp.burst_headroom[t])
                usd, gpu = _burst(
                    head,
                    inp.burst_order[(w, t)],
                    pw_all,
                    np.nan_to_num(inp.price_od[t]),
                    inp.gpus,
                    r,
                )
                acc.burst_usd += usd * dt
                acc.burst_gpu_h += gpu * dt
                acc.paid_gpu_h += gpu * dt
                acc.useful_gpu_h += gpu * dt
        need = needs[w]
        acc.need[w] += need.sum(axis=1) * dt
        acc.served[w] += (need - r).sum(axis=1) * dt
        low = (need - r < cfg.slo_fraction * need) & (need > 0)
        acc.slo_steps[w] += low.sum(axis=1)

    # --- training, batch, agents on what is left -------------------------------------------------
    run_of = {run.w: i for i, run in enumerate(inp.runs)}
    for v in inp.others:
        zr, zo, zs = z[v, R], z[v, OD], z[v, SP]
        if not ((zr > 0).any() or (zo > 0).any() or (zs > 0).any()):
            if v not in run_of:
                acc.need[v] += inp.demand[v, t] * n * dt
            continue
        pv = inp.perf[v, :Pc]
        units = _mv(hold[v], pv) if v in hold else np.zeros((m, n))
        gpus_v = _mv(hold[v], g) if v in hold else np.zeros((m, n))
        for up, price, usd, mk in markets:
            if (z[v, mk] > 0).any():
                units += _mv(up, pv * z[v, mk])
                paid = _mv(up, g * z[v, mk])
                gpus_v += paid
                acc.paid_gpu_h += paid.sum(axis=1) * dt
                usd += _mv(up, price * z[v, mk]).sum(axis=1) * dt  # in place
        if (zs > 0).any():
            sp = dr.spot_pools
            lost_vec = cfg.spot_fraction * zs[sp] * g[sp] * inp.spot_lost_hours[sp]
            if len(sp) and (lost_vec > 0).any():
                new = dr.spot_new[:, k0:k1, :] * upf[:, :, sp]
                acc.useful_gpu_h -= _mv(new, lost_vec).sum(axis=1)
        if v in run_of:
            _training(inp, cfg, dr, acc, run_of[v], t, k0, k1, units, gpus_v)
            continue
        demand = inp.demand[v, t]
        served = np.minimum(units, demand)
        acc.need[v] += demand * n * dt
        acc.served[v] += served.sum(axis=1) * dt
        share = np.divide(served, units, out=np.zeros_like(units), where=units > 0)
        acc.useful_gpu_h += np.einsum("ij,ij->i", gpus_v, share) * dt


def _training(
    inp: SimInputs,
    cfg: SimConfig,
    dr: Draws,
    acc: Acc,
    i: int,
    t: int,
    k0: int,
    k1: int,
    rate: np.ndarray,
    gpus_run: np.ndarray,
) -> None:
    """Progress of run ``i`` over the block: work, interruptions, completion."""
    run = inp.runs[i]
    m, n, dt = acc.m, k1 - k0, inp.step_hours
    gp = run.gpus_plan[t]
    phi = np.divide(gpus_run, gp, out=np.zeros_like(gpus_run), where=gp > 0)
    f = dr.failures[i]
    lo, hi = np.searchsorted(f["step"], [k0, k1], side="left")
    tr, st = f["trial"][lo:hi], f["step"][lo:hi] - k0
    keep = f["u_thin"][lo:hi] < phi[tr, st]  # thinning: a run on fewer GPUs fails less often
    flat = (tr * n + st)[keep]
    loss_h = cfg.restart_hours + f["u_loss"][lo:hi][keep] * cfg.checkpoint_interval_hours
    nfail = np.bincount(flat, minlength=m * n).reshape(m, n).astype(np.float64)
    lossh = np.bincount(flat, weights=loss_h, minlength=m * n).reshape(m, n)
    net = rate * dt - lossh * rate
    loss_gpu = lossh * gpus_run
    work = acc.run_work[i][:, None] + np.cumsum(net, axis=1)
    todo = ~acc.run_done[i]
    cross = (work >= run.compute * (1 - 1e-12)) & todo[:, None]
    hit = cross.any(axis=1)
    first = np.where(hit, cross.argmax(axis=1), n)
    counted = (np.arange(n)[None, :] < first[:, None]) & todo[:, None]
    gross = (gpus_run * counted).sum(axis=1) * dt
    fails = (nfail * counted).sum(axis=1)
    lost = (loss_gpu * counted).sum(axis=1)
    if hit.any():
        rows = np.flatnonzero(hit)
        fk = first[rows]
        step_net = net[rows, fk]
        before = work[rows, fk] - step_net
        frac = np.clip(
            np.divide(run.compute - before, step_net, out=np.ones(len(rows)), where=step_net > 0),
            0.0,
            1.0,
        )
        gross[rows] += gpus_run[rows, fk] * frac * dt
        fails[rows] += nfail[rows, fk]
        lost[rows] += loss_gpu[rows, fk]
        acc.run_finish[i][rows] = (k0 + fk + frac) * dt
        acc.run_done[i][rows] = True
    acc.run_gross_gpu_h[i] += gross
    acc.run_failures[i] += fails
    acc.run_lost_gpu_h[i] += lost
    acc.run_work[i] = np.where(todo, work[:, -1], acc.run_work[i])
