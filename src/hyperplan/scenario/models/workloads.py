"""What the team needs: the inference, training, agents and batch workloads."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from hyperplan.scenario.models.base import (
    FieldValueError,
    Fraction,
    Model,
    Name,
    Perf,
    Text,
    TokensPerDevice,
    When,
    about,
)
from hyperplan.scenario.models.series import Series

Market = Literal["reserved", "ondemand", "spot"]
Route = Literal["rented", "owned", "managed"]


class WorkloadBase(Model):
    """Fields common to every workload kind."""

    demand_field: ClassVar[str]
    """Name of the field that holds the kind's demand; its table unit is the unit of plan
    tables (:func:`hyperplan.scenario.fields.demand_units`)."""

    name: Name = Field(
        description="the workload's name, unique in the scenario (letters, digits, _ . -)",
        examples=["chat", "pretrain"],
    )
    providers: list[Text] | None = Field(
        default=None, description="providers allowed; default all", examples=[["aws", "nebius"]]
    )
    regions: list[Text] | None = Field(
        default=None,
        description="regions allowed; default all",
        examples=[["us-east-1", "eu-north1"]],
    )
    geo: list[Text] | None = Field(
        default=None,
        description="data residency: geo tags allowed (e.g. [eu]); default all",
        examples=[["eu"], ["us", "ca"]],
    )
    markets: list[Market] | None = Field(
        default=None,
        description="markets allowed; default reserved+ondemand (+spot if preemptible)",
        examples=[["reserved", "ondemand"]],
    )
    priority: int = Field(
        default=0,
        ge=0,
        le=100,
        description="dispatch priority (higher first)",
        examples=[10],
        json_schema_extra=about("rank"),
    )
    routes: list[Route] | None = Field(
        default=None,
        description=(
            "how the workload may be served: rented (cloud offers), owned (owned_sites), "
            "managed (managed_platforms, inference only); default all"
        ),
        examples=[["rented", "owned"], ["managed"]],
    )


class Inference(WorkloadBase):
    """Token serving. Demand is average output tokens/s over each period."""

    demand_field: ClassVar[str] = "demand_tokens_per_s"

    kind: Literal["inference"] = Field(
        description="inference: token serving", examples=["inference"]
    )
    demand_tokens_per_s: Series = Field(
        description="average output tokens/s per period",
        examples=[200_000, {"start": 200_000, "growth_per_year": 1.0}],
        json_schema_extra=about("output tokens/s", plausible_max=1e12, table_unit="tokens/s"),
    )
    model_params_b: float = Field(
        default=70.0,
        ge=1e-3,
        le=1e5,
        description="active parameters of the served model, billions (perf estimate)",
        examples=[70, 405],
        json_schema_extra=about("billion parameters"),
    )
    perf_tokens_per_s: dict[Text, TokensPerDevice] | None = Field(
        default=None,
        description="output tokens/s per accelerator DEVICE; missing ones are estimated (flagged)",
        examples=[{"H100": 3000, "H200": 4200}],
        json_schema_extra=about("output tokens/s per device"),
    )
    accelerators: list[Text] | None = Field(
        default=None, description="accelerators allowed", examples=[["H100", "H200"]]
    )
    resilience: Fraction = Field(
        default=0.8,
        description="share of demand that must be served when any one domain is down",
        examples=[0.8],
        json_schema_extra=about("fraction"),
    )
    preemptible: bool = Field(
        default=False,
        description="may use spot capacity and be preempted (requests retried elsewhere)",
        examples=[False],
    )
    model: Text | None = Field(
        default=None,
        description=(
            "name of the served model; a managed platform serving the same model may serve it "
            "(see managed_platforms.workloads)"
        ),
        examples=["Llama 3.3 70B Instruct"],
    )
    input_tokens_per_output: float = Field(
        default=1.0,
        ge=0.0,
        le=1e4,
        description=(
            "prompt (input) tokens per generated (output) token, for managed platforms' "
            "per-token prices; 1.0 = as many prompt tokens as output tokens"
        ),
        examples=[1.0, 4.0],
        json_schema_extra=about("input tokens per output token"),
    )


class Training(WorkloadBase):
    """A training run: ``compute_gpu_hours`` of the reference accelerator inside a window."""

    demand_field: ClassVar[str] = "compute_gpu_hours"

    kind: Literal["training"] = Field(
        description="training: a run of fixed work", examples=["training"]
    )
    compute_gpu_hours: float = Field(
        ge=1e-3,
        le=1e12,
        description="work, in accelerator-hours of reference_accelerator",
        examples=[1_500_000],
        json_schema_extra=about("reference-accelerator hours", table_unit="reference GPU-hours"),
    )
    reference_accelerator: Text = Field(
        default="H100",
        description="the accelerator compute_gpu_hours and perf are counted in",
        examples=["H100"],
    )
    start: When = Field(description="earliest start", examples=["2027-Q2"])
    deadline: When = Field(description="the run must finish before this date", examples=["2028-Q1"])
    accelerators: list[Text] | None = Field(
        default=None, description="accelerators allowed", examples=[["H100", "H200", "B200"]]
    )
    perf: dict[Text, Perf] | None = Field(
        default=None,
        description="reference-accelerator equivalents per device; default: bf16 TFLOPS ratio",
        examples=[{"B200": 2.27}],
        json_schema_extra=about("reference-accelerator equivalents per device"),
    )
    single_site: bool = Field(
        default=False, description="the run uses one region (MILP)", examples=[True]
    )
    max_instances: float | None = Field(
        default=None,
        ge=1e-3,
        le=1e9,
        description="cap on instances in use in any period",
        examples=[2000],
        json_schema_extra=about("instances"),
    )
    preemptible: bool = Field(
        default=False,
        description=("may use spot capacity and be preempted (the run resumes from a checkpoint)"),
        examples=[False],
    )

    @model_validator(mode="after")
    def _window(self) -> Training:
        if self.deadline <= self.start:
            raise FieldValueError(
                f"deadline ({self.deadline}) must be after start ({self.start})", "deadline"
            )
        return self


class Agents(WorkloadBase):
    """CPU sandboxes for agents: demand in vCPUs busy on average, on CPU-only offers."""

    demand_field: ClassVar[str] = "demand_vcpus"

    kind: Literal["agents"] = Field(description="agents: CPU sandboxes", examples=["agents"])
    demand_vcpus: Series = Field(
        description="vCPUs needed on average per period",
        examples=[2_000_000, {"start": 2_000_000, "growth_per_year": 1.0}],
        json_schema_extra=about("vCPUs", plausible_max=1e12),
    )
    resilience: Fraction = Field(
        default=0.5,
        description="share of demand that must be served when any one domain is down",
        examples=[0.5],
        json_schema_extra=about("fraction"),
    )
    preemptible: bool = Field(
        default=True,
        description="may use spot capacity and be preempted (sandboxes restart elsewhere)",
        examples=[True],
    )


class Batch(WorkloadBase):
    """Preemptible GPU batch work: demand in busy reference accelerators per period."""

    demand_field: ClassVar[str] = "demand_gpus"

    kind: Literal["batch"] = Field(description="batch: preemptible GPU work", examples=["batch"])
    demand_gpus: Series = Field(
        description="reference-accelerator equivalents busy per period",
        examples=[150_000, {"start": 1000, "growth_per_year": 1.0}],
        json_schema_extra=about(
            "reference accelerators", plausible_max=1e10, table_unit="reference GPUs"
        ),
    )
    reference_accelerator: Text = Field(
        default="H100",
        description="the accelerator demand_gpus and perf are counted in",
        examples=["H100"],
    )
    accelerators: list[Text] | None = Field(
        default=None, description="accelerators allowed", examples=[["H100", "H200"]]
    )
    perf: dict[Text, Perf] | None = Field(
        default=None,
        description=("reference-accelerator equivalents per device; default: bf16 TFLOPS ratio"),
        examples=[{"H200": 1.0}],
        json_schema_extra=about("reference-accelerator equivalents per device"),
    )
    resilience: Fraction = Field(
        default=0.0,
        description="share of demand that must be served when any one domain is down",
        examples=[0.0],
        json_schema_extra=about("fraction"),
    )
    preemptible: bool = Field(
        default=True,
        description="may use spot capacity and be preempted (the work is retried)",
        examples=[True],
    )


Workload = Annotated[Inference | Training | Agents | Batch, Field(discriminator="kind")]
