"""Failure and demand models of the simulator, and their calibrated defaults.

Every default below is derived in ``docs/calibration.md`` from a public fact (DESIGN.md section 6)
or marked there as an assumption. Provider and region outage models are not here: they come from
the plan (``plan.context.outages``, i.e. the scenario's ``providers.*.outage``), so the simulator
and the planner see the same outage rates.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hyperplan.scenario.timeline import HOURS_PER_YEAR as HOURS_PER_YEAR  # one definition

# --- Llama 3 405B pre-training (Dubey et al., "The Llama 3 Herd of Models", 2024, section 3.3.4):
# a 54-day snapshot on 16,384 H100 GPUs: 466 job interruptions, 47 planned and 419 unexpected;
# 58.7% of the unexpected ones GPU-related (GPU 30.1%, HBM3 17.2%, ...); effective training
# time above 90%.
LLAMA3_GPUS = 16_384
LLAMA3_HOURS = 54 * 24
LLAMA3_UNEXPECTED = 419
LLAMA3_GPU_SHARE = 0.587
LLAMA3_EFFECTIVE_TIME = 0.90

#: every unexpected interruption of a synchronous run, per GPU-hour: 419 / (54 × 24 × 16,384)
RUN_INTERRUPTIONS_PER_GPU_HOUR = LLAMA3_UNEXPECTED / (LLAMA3_HOURS * LLAMA3_GPUS)
#: GPU-related failures per GPU-hour (the hardware that goes to repair): × 0.587
GPU_FAILURES_PER_GPU_HOUR = RUN_INTERRUPTIONS_PER_GPU_HOUR * LLAMA3_GPU_SHARE
#: upper bound on the hours of a run lost per interruption: (1 − 0.90) × 1,296 h / 419
LOSS_HOURS_PER_INTERRUPTION = (1 - LLAMA3_EFFECTIVE_TIME) * LLAMA3_HOURS / LLAMA3_UNEXPECTED

#: spot interruption notice, seconds (AWS: two minutes; GCP preemption and Azure eviction: 30 s)
SPOT_NOTICE_SECONDS = {"aws": 120.0, "gcp": 30.0, "azure": 30.0}


class SimConfig(BaseModel):
    """Parameters of the simulation that the plan does not carry. Defaults: docs/calibration.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- accelerator failures ------------------------------------------------------------------
    run_interruptions_per_gpu_hour: float = Field(
        default=RUN_INTERRUPTIONS_PER_GPU_HOUR,
        ge=0.0,
        description="interruptions of a synchronous training run per GPU-hour (all causes); "
        "a run on G GPUs is hit at G × this rate",
    )
    gpu_failures_per_gpu_hour: float = Field(
        default=GPU_FAILURES_PER_GPU_HOUR,
        ge=0.0,
        description="GPU-related failures per GPU-hour: the instances that go to repair",
    )
    repair_hours: float = Field(
        default=24.0, gt=0.0, description="hours a failed instance is out of service (assumption)"
    )
    restart_hours: float = Field(
        default=0.16, ge=0.0, description="hours a training run needs to restart after a failure"
    )
    checkpoint_interval_hours: float = Field(
        default=0.30,
        ge=0.0,
        description="hours between checkpoints; a failure loses U(0, interval) of work",
    )
    # --- spot ------------------------------------------------------------------------------------
    spot_events_per_month: float = Field(
        default=0.8, ge=0.0, description="pool-level spot reclaim events per pool and month"
    )
    spot_fraction: float = Field(
        default=0.25, ge=0.0, le=1.0, description="share of a pool's spot instances one event takes"
    )
    spot_recovery_hours: float = Field(
        default=6.0, gt=0.0, description="mean hours until reclaimed spot capacity is back"
    )
    spot_notice_seconds: dict[str, float] = Field(
        default_factory=lambda: dict(SPOT_NOTICE_SECONDS),
        description="interruption notice per provider; others get spot_notice_default_seconds",
    )
    spot_notice_default_seconds: float = Field(default=30.0, ge=0.0)
    spot_checkpoint_seconds: float = Field(
        default=60.0,
        ge=0.0,
        description="seconds preemptible work needs to save its state; a shorter notice loses "
        "half a spot_checkpoint_interval_hours of work per reclaimed instance",
    )
    spot_checkpoint_interval_hours: float = Field(default=1.0, ge=0.0)
    # --- late delivery -----------------------------------------------------------------------------
    late_probability: float = Field(
        default=0.10, ge=0.0, le=1.0, description="chance a new commitment is delivered late"
    )
    late_mean_periods: float = Field(
        default=1.0, ge=1.0, description="mean delay of a late commitment, whole periods"
    )
    # --- demand --------------------------------------------------------------------------------
    demand_sigma_per_year: float = Field(
        default=0.20,
        ge=0.0,
        description="volatility of the multiplicative random walk on inference demand, per √year",
    )
    slo_fraction: float = Field(
        default=0.99,
        gt=0.0,
        le=1.0,
        description="an hour meets its SLO when served ≥ this share of that hour's demand",
    )
    # --- outages -------------------------------------------------------------------------------
    outage_rate_scale: float = Field(
        default=1.0, ge=0.0, description="multiplies every provider and region outage rate"
    )
    region_outages: Literal["scenario", "all", "none"] = Field(
        default="scenario",
        description="scenario: regions with their own outage model in the scenario (all of them "
        "when the plan was made for region outages); all: every region with the default model",
    )
    # --- execution -----------------------------------------------------------------------------
    chunk_trials: int = Field(
        default=16,
        ge=1,
        le=4096,
        description="trials per chunk (fixed, so results do not depend on workers or backend)",
    )

    @classmethod
    def deterministic(cls, **overrides: object) -> SimConfig:
        """Every failure, delay and shock switched off: each trial replays the plan."""
        zero = {
            "run_interruptions_per_gpu_hour": 0.0,
            "gpu_failures_per_gpu_hour": 0.0,
            "spot_events_per_month": 0.0,
            "late_probability": 0.0,
            "demand_sigma_per_year": 0.0,
            "outage_rate_scale": 0.0,
        }
        zero.update(overrides)
        return cls(**zero)  # type: ignore[arg-type]

    def spot_lost_hours(self, provider: str) -> float:
        """Hours of work a reclaimed spot instance loses (0 when the notice suffices to save)."""
        notice = self.spot_notice_seconds.get(provider, self.spot_notice_default_seconds)
        if notice >= self.spot_checkpoint_seconds:
            return 0.0
        return self.spot_checkpoint_interval_hours / 2.0
