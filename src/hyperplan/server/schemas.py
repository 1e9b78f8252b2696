"""Request and response bodies of the HTTP API (pydantic models, shown in the OpenAPI document).

Money is USD, prices USD per instance-hour, quantities instances, dates ISO ``YYYY-MM-DD``,
timestamps ISO UTC without a zone.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["viewer", "planner", "approver", "admin"]


class ProblemOut(BaseModel):
    """One located fault in the input: ``file:line:column``, the field path and what is wrong."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str = ""
    location: str = Field(description="file:line:column as the CLI prints it")


class ErrorBody(BaseModel):
    """Every error response: a stable ``error`` code, a message, and located problems."""

    error: str = Field(description="machine-readable code, e.g. unauthenticated, stale_ledger")
    message: str = Field(description="what went wrong, for people (never a secret)")
    problems: list[ProblemOut] = Field(default_factory=list)


class Health(BaseModel):
    """The server is up and its database answers."""

    status: Literal["ok"]
    version: str = Field(description="hyperplan version")
    database: str = Field(description="database backend: sqlite or postgresql")
    schema_revision: str | None = Field(description="Alembic revision of the ledger schema")


class WorkspaceAccess(BaseModel):
    """A workspace the caller holds a token for, with the highest role held."""

    workspace: str
    role: Role
    ledger_version: int = Field(description="mutations of the workspace's ledger so far")


class ScenarioOut(BaseModel):
    """A stored scenario version (its YAML text's sha256 identifies it)."""

    id: int
    name: str
    sha256: str
    author: str
    created_at: str


class ScenarioStored(ScenarioOut):
    """A scenario after POST: ``created`` is false when the same text was stored before."""

    created: bool


class ScenarioDetail(ScenarioOut):
    """A scenario version with its YAML text."""

    yaml: str


class CommitmentOut(BaseModel):
    """One commitment of the ledger (whole-term value = quantity × USD/h × 8760 × years)."""

    id: int
    state: str
    kind: str
    provider: str
    region: str
    offer: str
    accelerator: str
    term_years: int
    start: str
    end: str
    quantity: float = Field(description="instances")
    usd_per_hour: float = Field(description="USD per instance-hour")
    value_usd: float = Field(description="whole-term value, USD")
    contract: str | None = Field(description="take-or-pay contract it counts toward")
    external_id: str | None = Field(description="provider's id once signed")


class CommitmentPage(BaseModel):
    """A page of commitments ordered by id; ``next_after`` fetches the next (null: the last)."""

    workspace: str
    ledger_version: int
    items: list[CommitmentOut]
    next_after: int | None


class ContractOut(BaseModel):
    """A take-or-pay contract: ``committed_usd`` with ``provider`` over ``[start, end)``."""

    id: int
    name: str
    provider: str
    committed_usd: float
    start: str
    end: str
    discount: float = Field(description="fraction off the provider's prices")
    external_id: str | None


class AuditOut(BaseModel):
    """One audit row: who (actor) did what (action on entity) when, before and after."""

    id: int
    ledger_version: int
    at: str
    actor: str
    action: str
    entity: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    """A page of the audit log, oldest first; ``next_after`` fetches the next (null: the last)."""

    items: list[AuditOut]
    next_after: int | None


class ChangeOut(BaseModel):
    """One change an adoption makes: new, changed or cancelled."""

    action: Literal["new", "changed", "cancelled"]
    id: int | None = Field(description="the ledger commitment changed or cancelled (null: new)")
    kind: str
    provider: str
    region: str
    offer: str
    accelerator: str
    term_years: int
    start: str
    end: str
    quantity: float = Field(description="instances after the change (cancelled: before)")
    usd_per_hour: float
    value_usd: float = Field(description="whole-term value after the change, USD")
    before_quantity: float | None
    before_value_usd: float | None


class MoneyOut(BaseModel):
    """Whole-term value of one provider's live commitments before and after, USD."""

    provider: str
    before_usd: float
    after_usd: float


class PreviewOut(BaseModel):
    """What adopting the plan would change, against the ledger at ``ledger_version``."""

    workspace: str
    ledger_version: int = Field(description="apply with ?expect_version= this")
    plan_ledger_version: int | None = Field(
        description="ledger version the plan was made from (null: not planned from the ledger)"
    )
    stale: bool = Field(description="the plan was made from an older ledger version")
    new: int
    changed: int
    cancelled: int
    unchanged: int
    held: int = Field(description="signed or active commitments, never touched")
    changes: list[ChangeOut]
    money: list[MoneyOut]
    before_usd: float
    after_usd: float


class AdoptionOut(BaseModel):
    """An applied adoption: the ledger moved from ``from_version`` to ``ledger_version``."""

    adoption_id: int
    workspace: str
    from_version: int
    ledger_version: int
    commitment_ids: list[int] = Field(description="commitments created, changed or cancelled")
    new: int
    changed: int
    cancelled: int
    unchanged: int


class SignIn(BaseModel):
    """A signature: the provider's id for the commitment (e.g. FOCUS CommitmentDiscountId)."""

    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(min_length=1, max_length=200, pattern=r"\S")


class TokenOut(BaseModel):
    """An API token's record (never the token itself)."""

    id: int
    user: str
    workspace: str
    role: Role
    name: str | None
    created_by: str
    created_at: str
    revoked_at: str | None


class TokenIn(BaseModel):
    """A token to create in this workspace (admin)."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$")
    role: Role
    name: str | None = Field(default=None, max_length=80)


class TokenCreated(TokenOut):
    """A new token: ``token`` is shown this once and cannot be read back."""

    token: str
