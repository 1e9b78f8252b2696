"""Random draws with common random numbers: a function of (seed, trial, entity) only.

Each uniform is a counter-based hash: SplitMix64 output ``mix(x + γ·(j+1))`` of a per-trial state
``x = mix(key + γ'·(trial+1))``, where ``key`` is a BLAKE2b hash of ``(seed, entity name, stream)``.
So a draw does not depend on the chunk its trial runs in, on the number of workers or on the
backend; and two plans simulated with the same seed see the same outage timeline for a provider
they share, the same demand path for a workload of the same name, and so on. Everything is
vectorised over trials (and over draws within a trial).

Poisson processes are drawn in *operational time*: unit-rate arrivals (cumulative Exp(1)) mapped
through the cumulative intensity, so a plan with twice the GPUs sees the same arrivals twice as
densely (common random numbers again).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri

from hyperplan.plan.arrays import field_values
from hyperplan.sim.inputs import SimInputs
from hyperplan.sim.models import HOURS_PER_YEAR, SimConfig

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_GAMMA_TRIAL = np.uint64(0xD1B54A32D192ED03)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(v) for v in (30, 27, 31, 11))
_TWO53 = 2.0**-53


def entity_key(seed: int, name: str, stream: str) -> int:
    """A stable 64-bit key of (seed, entity, stream) (BLAKE2b, independent of Python's hash)."""
    data = f"{int(seed)}\x1f{name}\x1f{stream}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer, in place on a uint64 array (wraps modulo 2**64)."""
    x ^= x >> _S30
    x *= _C1
    x ^= x >> _S27
    x *= _C2
    x ^= x >> _S31
    return x


def uniforms(key: int, trials: np.ndarray, n: int, offset: int = 0) -> np.ndarray:
    """Uniforms in (0, 1), shape (len(trials), n): draw ``offset + j`` of each trial's stream."""
    state = np.asarray(trials, dtype=np.uint64).reshape(-1, 1) + np.uint64(1)
    state *= _GAMMA_TRIAL
    state += np.array([key], dtype=np.uint64)
    _mix(state)
    j = np.arange(offset + 1, offset + n + 1, dtype=np.uint64).reshape(1, -1)
    x = state + j * _GAMMA
    _mix(x)
    return ((x >> _S11).astype(np.float64) + 0.5) * _TWO53


def normals(key: int, trials: np.ndarray, n: int) -> np.ndarray:
    """Standard normals by inversion (so they inherit common random numbers)."""
    return ndtri(uniforms(key, trials, n))


def poisson_from_uniform(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Poisson(mean) quantile of ``u`` (exact inversion; normal approximation above mean 60)."""
    u, mean = np.broadcast_arrays(np.asarray(u, float), np.asarray(mean, float))
    out = np.zeros(u.shape, dtype=np.float64)
    flat_u, flat_m, flat_o = u.ravel(), mean.ravel(), out.reshape(-1)
    big = flat_m > 60.0
    if big.any():
        m = flat_m[big]
        flat_o[big] = np.maximum(np.floor(m + np.sqrt(m) * ndtri(flat_u[big]) + 0.5), 0.0)
    idx = np.flatnonzero(~big)
    uu, mm = flat_u[idx], flat_m[idx]
    p = np.exp(-mm)
    F = p.copy()
    cnt = np.zeros(len(idx))
    act = np.flatnonzero(uu > F)
    k = 0
    while act.size and k < 400:
        k += 1
        p[act] *= mm[act] / k
        F[act] += p[act]
        cnt[act] = k
        act = act[uu[act] > F[act]]
    flat_o[idx] = cnt
    return out


def poisson_arrivals(
    key: int, trials: np.ndarray, total: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-rate arrival times in [0, total) per trial: (times (m, n), valid (m, n))."""
    m = len(trials)
    total = np.broadcast_to(np.asarray(total, dtype=float), (m,))
    tmax = float(total.max(initial=0.0))
    if m == 0 or tmax <= 0:
        return np.zeros((m, 0)), np.zeros((m, 0), dtype=bool)
    n = math.ceil(tmax + 6.0 * math.sqrt(tmax) + 8)
    gaps = -np.log(uniforms(key, trials, n))
    times = np.cumsum(gaps, axis=1)
    while (times[:, -1] < total).any():  # rare: draw further along the same streams
        more = -np.log(uniforms(key, trials, n, offset=times.shape[1]))
        times = np.concatenate([times, times[:, -1:] + np.cumsum(more, axis=1)], axis=1)
    valid = times < total[:, None]
    keep = int(valid.sum(axis=1).max(initial=0))
    return times[:, :keep], valid[:, :keep]


@dataclass
class Draws:
    """Everything random in one chunk of trials (``m`` trials, ``S`` steps)."""

    trials: np.ndarray
    hard_site: np.ndarray  # (m, S, G) bool: the site's instances are down
    block_site: np.ndarray  # (m, S, G) bool: no new capacity at the site (hard or control plane)
    outage_hours: np.ndarray  # (m, D) hours each domain is hard down
    control_plane_hours: np.ndarray  # (m, D) hours each domain's control plane only is down
    late: np.ndarray  # (m, T, P) reserved instances not delivered yet
    late_usd: np.ndarray  # (m,) reserved spend not paid because of late delivery
    repair: np.ndarray  # (m, blocks, P) instances in repair, per repair block
    repair_steps: int
    spot_pools: np.ndarray  # (Ps,) pools with spot capacity
    spot_active: np.ndarray  # (m, S, Ps) pool-level reclaim events in progress
    spot_new: np.ndarray  # (m, S, Ps) reclaim events starting in the step
    shock: np.ndarray  # (m, S, I) demand multiplier of each inference workload
    failures: list[dict[str, np.ndarray]] = field(default_factory=list)  # per run, by step
    # the events behind the masks above (for event-driven reference models and for tests)
    outage_events: dict[str, np.ndarray] = field(default_factory=dict)  # trial, domain, a, b, cp
    spot_events: dict[str, np.ndarray] = field(default_factory=dict)  # trial, spot pool, a, b
    late_flags: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    late_delay: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def _rounded_steps(hours: np.ndarray, step: float, S: int) -> np.ndarray:
    return np.clip(np.floor(hours / step + 0.5), 0, S).astype(np.int64)


def _count_intervals(
    m: int, S: int, n_cols: int, trial: np.ndarray, col: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Active-interval counts (m, S, n_cols) of intervals [a, b) in steps."""
    ok = b > a
    trial, col, a, b = trial[ok], col[ok], a[ok], b[ok]
    size = m * (S + 1) * n_cols
    diff = np.bincount((trial * (S + 1) + a) * n_cols + col, minlength=size).astype(np.int16)
    diff -= np.bincount((trial * (S + 1) + b) * n_cols + col, minlength=size).astype(np.int16)
    out = np.add.accumulate(diff.reshape(m, S + 1, n_cols), axis=1, dtype=np.int16)
    return out[:, :S]


def _count_starts(m: int, S: int, n_cols: int, trial: np.ndarray, col: np.ndarray, a: np.ndarray):
    """Events starting in each step (m, S, n_cols)."""
    size = m * S * n_cols
    ok = a < S
    flat = (trial[ok] * S + a[ok]) * n_cols + col[ok]
    return np.bincount(flat, minlength=size).astype(np.int16).reshape(m, S, n_cols)


def draw_chunk(inp: SimInputs, cfg: SimConfig, seed: int, trials: np.ndarray) -> Draws:
    """All draws of the given trials: one ``draw_*`` function per family (outages, late
    delivery, repairs, spot reclaims, demand shocks, training interruptions). Each family draws
    from its own streams, so the order they are drawn in does not matter."""
    return Draws(
        trials=np.asarray(trials),
        **field_values(draw_outages(inp, seed, trials)),
        **field_values(draw_late(inp, cfg, seed, trials)),
        **field_values(draw_repair(inp, cfg, seed, trials)),
        **field_values(draw_spot(inp, cfg, seed, trials)),
        shock=draw_shocks(inp, cfg, seed, trials),
        failures=draw_interruptions(inp, cfg, seed, trials),
    )


def _arrival_hours(
    seed: int, name: str, stream: str, trials: np.ndarray, rate_h: float, hours: float
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson arrivals at ``rate_h`` per hour over ``hours`` (stream ``stream`` of entity
    ``name``): (hours since the window's start (m, n), valid (m, n)); n may be 0."""
    times, valid = poisson_arrivals(entity_key(seed, name, stream), trials, rate_h * hours)
    return times / rate_h, valid


Intervals = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Step intervals ``[a, b)`` as flat arrays: (trial in the chunk, column, a, b)."""


def _intervals(col: int, a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> Intervals:
    """The intervals ``[a, b)`` (m, n) where ``keep``, in column ``col``."""
    trial = np.broadcast_to(np.arange(a.shape[0])[:, None], a.shape)
    return trial[keep], np.full(int(keep.sum()), col), a[keep], b[keep]


def _joined(parts: list[Intervals]) -> list[np.ndarray]:
    """The columns (trial, column, a, b) of ``parts`` (non-empty) end to end."""
    return [np.concatenate([p[i] for p in parts]) for i in range(4)]


def _concat(items: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(items).astype(dtype) if items else np.zeros(0, dtype=dtype)


@dataclass
class OutageDraws:
    """Provider and region outages of a chunk (``D`` domains, ``G`` sites)."""

    outage_events: dict[str, np.ndarray]  # trial, domain, a, b (steps), cp (control plane only)
    hard_site: np.ndarray  # (m, S, G) bool: the site's instances are down
    block_site: np.ndarray  # (m, S, G) bool: no new capacity at the site
    outage_hours: np.ndarray  # (m, D) hours each domain is hard down
    control_plane_hours: np.ndarray  # (m, D) hours only each domain's control plane is down


def draw_outages(inp: SimInputs, seed: int, trials: np.ndarray) -> OutageDraws:
    """Outages of each failure domain: Poisson arrivals at its rate, lognormal durations
    (hours), a share of them control-plane only; a site is down when its provider or region is."""
    m, S, dt = len(trials), inp.steps, inp.step_hours
    D = len(inp.domains)
    events: dict[str, list[np.ndarray]] = {k: [] for k in ("trial", "domain", "a", "b", "cp")}
    hard_parts: list[Intervals] = []
    cp_parts: list[Intervals] = []
    for d, dom in enumerate(inp.domains):
        rate_h = dom.rate_per_year / HOURS_PER_YEAR
        if rate_h <= 0:
            continue
        name = f"{dom.kind}:{dom.name}"
        start, valid = _arrival_hours(seed, name, "arrivals", trials, rate_h, inp.hours)
        n = start.shape[1]
        if n == 0:
            continue
        mu = math.log(dom.mean_hours) - dom.sigma**2 / 2.0
        dur = np.exp(mu + dom.sigma * normals(entity_key(seed, name, "duration"), trials, n))
        cp = uniforms(entity_key(seed, name, "control-plane"), trials, n) < dom.control_plane_share
        a = _rounded_steps(start, dt, S)
        b = _rounded_steps(start + dur, dt, S)
        hard_parts.append(_intervals(d, a, b, valid & ~cp))
        cp_parts.append(_intervals(d, a, b, valid & cp))
        for key, value in zip(
            ("trial", "domain", "a", "b"), _intervals(d, a, b, valid), strict=True
        ):
            events[key].append(value)
        events["cp"].append(cp[valid])

    def down(parts: list[Intervals]) -> np.ndarray:
        if not parts:
            return np.zeros((m, S, D), dtype=bool)
        return _count_intervals(m, S, D, *_joined(parts)) > 0

    hard_d = down(hard_parts)
    cp_d = down(cp_parts)
    prov, reg = inp.site_domains[:, 0], inp.site_domains[:, 1]
    has_reg = reg >= 0
    hard_site = hard_d[:, :, prov].copy()
    any_d = hard_d | cp_d
    block_site = any_d[:, :, prov].copy()
    if has_reg.any():
        hard_site[:, :, has_reg] |= hard_d[:, :, reg[has_reg]]
        block_site[:, :, has_reg] |= any_d[:, :, reg[has_reg]]
    return OutageDraws(
        outage_events={k: _concat(v, bool if k == "cp" else int) for k, v in events.items()},
        hard_site=hard_site,
        block_site=block_site,
        outage_hours=hard_d.sum(axis=1) * dt,
        control_plane_hours=(cp_d & ~hard_d).sum(axis=1) * dt,
    )


@dataclass
class LateDraws:
    """Late delivery of the plan's new commitments (``C``) in a chunk."""

    late_flags: np.ndarray  # (m, C) bool: the commitment is delivered late
    late_delay: np.ndarray  # (m, C) periods from its start to its delivery (1: on time)
    late: np.ndarray  # (m, T, P) reserved instances not delivered yet
    late_usd: np.ndarray  # (m,) reserved spend not paid because of late delivery, USD


def draw_late(inp: SimInputs, cfg: SimConfig, seed: int, trials: np.ndarray) -> LateDraws:
    """Each commitment is late with ``cfg.late_probability``, by a geometric number of periods
    of mean ``cfg.late_mean_periods``; a late commitment's instances and spend are missing."""
    m, dt = len(trials), inp.step_hours
    T, P = len(inp.period_hours), inp.n_pools
    late = np.zeros((m, T, P))
    late_usd = np.zeros(m)
    C = len(inp.commit_keys)
    is_late = np.zeros((m, C), dtype=bool)
    delay = np.ones((m, C))
    if C and cfg.late_probability > 0:
        q, mean = cfg.late_probability, cfg.late_mean_periods
        for c, k in enumerate(inp.commit_keys):
            u = uniforms(entity_key(seed, f"commitment:{k}", "late"), trials, 2)
            is_late[:, c] = u[:, 0] < q
            if mean > 1.0:
                delay[:, c] = 1.0 + np.floor(np.log(u[:, 1]) / math.log(1.0 - 1.0 / mean))
            else:
                delay[:, c] = 1.0
        inc = np.zeros((C, P))
        inc[np.arange(C), inp.commit_pool] = inp.commit_instances
        usd = inp.commit_instances * inp.commit_usd_per_hour
        for t in range(T):
            hours_t = inp.steps_in_period[t] * dt
            active = is_late & (inp.commit_start <= t) & (t < inp.commit_start + delay)
            late[:, t] = active.astype(float) @ inc
            late_usd += (active.astype(float) @ usd) * hours_t
    return LateDraws(late_flags=is_late, late_delay=delay, late=late, late_usd=late_usd)


@dataclass
class RepairDraws:
    """Accelerators in repair in a chunk, per block of ``repair_steps`` steps."""

    repair: np.ndarray  # (m, blocks, P) instances in repair
    repair_steps: int


def draw_repair(inp: SimInputs, cfg: SimConfig, seed: int, trials: np.ndarray) -> RepairDraws:
    """Instances in repair: M/G/inf occupancy (Poisson, mean failures per hour × repair
    hours), redrawn every repair time, in the pools that hold reserved instances."""
    m, S, dt = len(trials), inp.steps, inp.step_hours
    B = max(1, round(cfg.repair_hours / dt))
    nb = -(-S // B)
    repair = np.zeros((m, nb, inp.n_pools))
    if cfg.gpu_failures_per_gpu_hour > 0:
        t_block = inp.period_of_step[np.arange(nb) * B]
        for p in np.flatnonzero((inp.gpus > 0) & (inp.reserved.max(axis=0) > 0)):
            mean = inp.reserved[t_block, p] * inp.gpus[p] * cfg.gpu_failures_per_gpu_hour
            mean = mean * cfg.repair_hours
            u = uniforms(entity_key(seed, f"pool:{inp.pool_ids[p]}", "repair"), trials, nb)
            repair[:, :, p] = poisson_from_uniform(u, mean[None, :])
    return RepairDraws(repair=repair, repair_steps=B)


@dataclass
class SpotDraws:
    """Spot reclaim events of a chunk in the pools with spot capacity (``Ps``)."""

    spot_pools: np.ndarray  # (Ps,) pools with spot capacity
    spot_events: dict[str, np.ndarray]  # trial, pool (index into spot_pools), a, b (steps)
    spot_active: np.ndarray  # (m, S, Ps) reclaim events in progress
    spot_new: np.ndarray  # (m, S, Ps) reclaim events starting in the step


def draw_spot(inp: SimInputs, cfg: SimConfig, seed: int, trials: np.ndarray) -> SpotDraws:
    """Pool-level reclaim events: Poisson at ``cfg.spot_events_per_month``, each lasting an
    exponential time of mean ``cfg.spot_recovery_hours`` (at least one step)."""
    m, S, dt = len(trials), inp.steps, inp.step_hours
    spot_pools = np.flatnonzero(inp.spot.max(axis=0) > 0)
    Ps = len(spot_pools)
    rate_h = cfg.spot_events_per_month * 12.0 / HOURS_PER_YEAR
    parts: list[Intervals] = []
    if Ps and rate_h > 0:
        for j, p in enumerate(spot_pools):
            name = f"pool:{inp.pool_ids[p]}"
            start, valid = _arrival_hours(seed, name, "spot", trials, rate_h, inp.hours)
            n = start.shape[1]
            if n == 0:
                continue
            dur = -np.log(uniforms(entity_key(seed, name, "spot-recovery"), trials, n))
            a = np.minimum(np.floor(start / dt), S - 1).astype(np.int64)
            length = np.maximum(1, np.ceil(dur * cfg.spot_recovery_hours / dt)).astype(np.int64)
            parts.append(_intervals(j, a, np.minimum(a + length, S), valid))
    if parts:
        cols = _joined(parts)
        spot_active = _count_intervals(m, S, Ps, *cols)
        spot_new = _count_starts(m, S, Ps, cols[0], cols[1], cols[2])
    else:
        spot_active = np.zeros((m, S, Ps), dtype=np.int16)
        spot_new = spot_active.copy()
    return SpotDraws(
        spot_pools=spot_pools,
        spot_events={
            k: _concat([p[i] for p in parts], int)
            for i, k in enumerate(("trial", "pool", "a", "b"))
        },
        spot_active=spot_active,
        spot_new=spot_new,
    )


def draw_shocks(inp: SimInputs, cfg: SimConfig, seed: int, trials: np.ndarray) -> np.ndarray:
    """Demand multipliers (m, S, I) of the inference workloads: a multiplicative random walk
    of mean one, ``cfg.demand_sigma_per_year`` per square-root year."""
    m, S, dt = len(trials), inp.steps, inp.step_hours
    shock = np.ones((m, S, len(inp.inference)))
    sig = cfg.demand_sigma_per_year * math.sqrt(dt / HOURS_PER_YEAR)
    if sig > 0:
        for j, w in enumerate(inp.inference):
            z = normals(entity_key(seed, f"workload:{inp.workloads[w]}", "demand"), trials, S - 1)
            walk = np.cumsum(sig * z - sig * sig / 2.0, axis=1)
            shock[:, 1:, j] = np.exp(walk)
    return shock


def draw_interruptions(
    inp: SimInputs, cfg: SimConfig, seed: int, trials: np.ndarray
) -> list[dict[str, np.ndarray]]:
    """Interruptions of each training run: Poisson in operational time (the planned GPUs ×
    ``cfg.run_interruptions_per_gpu_hour``), by step, with the uniforms that decide the work
    lost and the thinning; per run, ordered by (step, trial)."""
    m, S, dt = len(trials), inp.steps, inp.step_hours
    failures = []
    for run in inp.runs:
        lam = run.gpus_plan[inp.period_of_step] * cfg.run_interruptions_per_gpu_hour * dt
        cum = np.cumsum(lam)
        total = float(cum[-1]) if len(cum) else 0.0
        name = f"workload:{run.name}"
        if total <= 0:
            failures.append(_no_failures())
            continue
        times, valid = poisson_arrivals(entity_key(seed, name, "interruptions"), trials, total)
        n = times.shape[1]
        u_loss = uniforms(entity_key(seed, name, "lost-work"), trials, n)
        u_thin = uniforms(entity_key(seed, name, "thinning"), trials, n)
        tr = np.broadcast_to(np.arange(m)[:, None], (m, n))[valid]
        step = np.minimum(np.searchsorted(cum, times[valid], side="right"), S - 1)
        order = np.lexsort((tr, step))
        failures.append(
            {
                "trial": tr[order],
                "step": step[order],
                "u_loss": u_loss[valid][order],
                "u_thin": u_thin[valid][order],
            }
        )
    return failures


def _no_failures() -> dict[str, np.ndarray]:
    z = np.zeros(0)
    return {"trial": z.astype(int), "step": z.astype(int), "u_loss": z, "u_thin": z}
