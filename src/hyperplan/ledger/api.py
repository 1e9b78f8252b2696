"""Ledger operations: preview and adopt a plan, sign and move commitments, list, audit.

Each mutation is one transaction that (1) bumps the workspace's ``ledger_version`` with a
compare-and-set (``UPDATE ... WHERE ledger_version = expected``), which also takes the
workspace's write lock, (2) reads the state under that lock, (3) writes the change and its
audit rows. A concurrent writer either waits for the lock and then finds the version moved
(refused with :class:`StaleLedger`) or is refused at once; nothing is half-applied.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hyperplan.errors import InputError
from hyperplan.ledger.audit import workspace_for_write, write_audit
from hyperplan.ledger.db import Ledger
from hyperplan.ledger.diff import Diff, Item, diff, plan_items
from hyperplan.ledger.errors import LedgerError, StaleLedger
from hyperplan.ledger.models import (
    Adoption,
    AuditEntry,
    Commitment,
    Contract,
    PlanRun,
    ScenarioVersion,
    Workspace,
    utcnow,
)
from hyperplan.ledger.states import HELD, STATES, refusal
from hyperplan.plan.context import LedgerInfo

if TYPE_CHECKING:
    from hyperplan.plan.artifact import Plan

DEFAULT_WORKSPACE = "default"
"""The workspace used when none is named."""


class CommitmentNotFound(LedgerError):
    """No commitment with that id in that workspace (exit 2; the server answers 404)."""


class RefusedMove(LedgerError):
    """A state change the life of a commitment does not allow (exit 2; the server: 409)."""


class ScenarioNotFound(LedgerError):
    """No scenario version with that id in that workspace (the server answers 404)."""


def default_author() -> str:
    """``$HYPERPLAN_AUTHOR``, else the login name."""
    name = os.environ.get("HYPERPLAN_AUTHOR")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def ledger_version(ledger: Ledger, workspace: str = DEFAULT_WORKSPACE) -> int:
    """The workspace's ledger version (0: nothing recorded yet)."""
    with ledger.transaction() as s:
        ws = _workspace(s, workspace)
        return ws.ledger_version if ws is not None else 0


def _workspace(s: Session, name: str) -> Workspace | None:
    return s.scalar(select(Workspace).where(Workspace.name == name))


def _items(s: Session, ws: Workspace | None) -> list[Item]:
    if ws is None:
        return []
    rows = s.scalars(select(Commitment).where(Commitment.workspace_id == ws.id))
    return [_item(c) for c in rows]


def _item(c: Commitment) -> Item:
    return Item(
        kind=c.kind,
        provider=c.provider,
        region=c.region,
        offer=c.offer,
        accelerator=c.accelerator,
        term_years=c.term_years,
        start=c.start,
        end=c.end,
        quantity=c.quantity,
        usd_per_hour=c.usd_per_hour,
        value_usd=c.value_usd,
        state=c.state,
        id=c.id,
    )


def commitment_record(c: Commitment, contracts: dict[int, str] | None = None) -> dict[str, Any]:
    """A commitment as plain JSON values (dates ISO), for the audit log and exports."""
    return {
        "id": c.id,
        "state": c.state,
        "kind": c.kind,
        "provider": c.provider,
        "region": c.region,
        "offer": c.offer,
        "accelerator": c.accelerator,
        "term_years": c.term_years,
        "start": c.start.isoformat(),
        "end": c.end.isoformat(),
        "quantity": c.quantity,
        "usd_per_hour": c.usd_per_hour,
        "value_usd": c.value_usd,
        "contract": (contracts or {}).get(c.contract_id) if c.contract_id is not None else None,
        "external_id": c.external_id,
    }


def list_commitments(
    ledger: Ledger,
    workspace: str = DEFAULT_WORKSPACE,
    *,
    state: str | None = None,
    provider: str | None = None,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The workspace's commitments (filtered by state and provider, case-insensitive), ordered
    by id; a page of at most ``limit`` of those with an id above ``after_id`` when given."""
    if state is not None and state not in STATES:
        raise LedgerError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
    with ledger.transaction() as s:
        ws = _workspace(s, workspace)
        if ws is None:
            return []
        q = select(Commitment).where(Commitment.workspace_id == ws.id)
        if state is not None:
            q = q.where(Commitment.state == state)
        if provider is not None:
            q = q.where(func.lower(Commitment.provider) == provider.lower())
        if after_id is not None:
            q = q.where(Commitment.id > after_id)
        q = q.order_by(Commitment.id)
        if limit is not None:
            q = q.limit(limit)
        names = {cid: name for cid, name in s.execute(select(Contract.id, Contract.name))}
        return [commitment_record(c, names) for c in s.scalars(q)]


def list_contracts(ledger: Ledger, workspace: str = DEFAULT_WORKSPACE) -> list[dict[str, Any]]:
    """The workspace's take-or-pay contracts, ordered by name."""
    with ledger.transaction() as s:
        ws = _workspace(s, workspace)
        if ws is None:
            return []
        q = select(Contract).where(Contract.workspace_id == ws.id).order_by(Contract.name)
        return [_contract_record(c) for c in s.scalars(q)]


def _contract_record(c: Contract) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "provider": c.provider,
        "committed_usd": c.committed_usd,
        "start": c.start.isoformat(),
        "end": c.end.isoformat(),
        "discount": c.discount,
        "external_id": c.external_id,
    }


def audit_log(
    ledger: Ledger,
    workspace: str = DEFAULT_WORKSPACE,
    *,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The workspace's audit log, oldest first (a page of at most ``limit`` rows with an id
    above ``after_id`` when given)."""
    with ledger.transaction() as s:
        ws = _workspace(s, workspace)
        if ws is None:
            return []
        q = select(AuditEntry).where(AuditEntry.workspace_id == ws.id)
        if after_id is not None:
            q = q.where(AuditEntry.id > after_id)
        q = q.order_by(AuditEntry.id)
        if limit is not None:
            q = q.limit(limit)
        return [
            {
                "id": a.id,
                "ledger_version": a.ledger_version,
                "at": a.at.isoformat(),
                "actor": a.actor,
                "action": a.action,
                "entity": a.entity,
                "entity_id": a.entity_id,
                "before": a.before,
                "after": a.after,
            }
            for a in s.scalars(q)
        ]


# ----------------------------------------------------------------------------------------------
# Writing: the version compare-and-set and the audit row
# ----------------------------------------------------------------------------------------------


def _lock(s: Session, name: str, expect: int | None) -> tuple[Workspace, int]:
    """Bump the workspace's version (creating it at version 1); return it and the new version.

    ``expect``: the version the caller's view was made from; ``None`` takes the lock whatever
    the version is (the caller then checks what it needs under the lock).
    """
    ws = _workspace(s, name)
    if ws is None:
        if expect not in (None, 0):
            raise StaleLedger(
                f"workspace {name!r} does not exist in this ledger, but the plan or preview was "
                f"made from its version {expect}: preview again or re-plan --from-ledger"
            )
        ws = Workspace(name=name, ledger_version=1, created_at=utcnow())
        s.add(ws)
        try:
            s.flush()
        except IntegrityError:
            raise StaleLedger(
                f"workspace {name!r} was created by another writer meanwhile: the ledger moved; "
                "preview again (hyperplan adopt PLAN) or re-plan --from-ledger"
            ) from None
        return ws, 1
    q = update(Workspace).where(Workspace.id == ws.id)
    if expect is not None:
        q = q.where(Workspace.ledger_version == expect)
    result = s.execute(
        q.values(ledger_version=Workspace.ledger_version + 1).returning(Workspace.ledger_version),
        execution_options={"synchronize_session": False},
    )
    new = result.scalar_one_or_none()
    if new is None:
        s.refresh(ws)
        raise StaleLedger(
            f"the ledger of workspace {name!r} moved: it is at version {ws.ledger_version}, the "
            f"plan or preview was made from version {expect}. Nothing was applied; preview again "
            "(hyperplan adopt PLAN) or re-plan from the ledger (hyperplan plan --from-ledger)"
        )
    s.refresh(ws)
    return ws, int(new)


# ----------------------------------------------------------------------------------------------
# Adoption
# ----------------------------------------------------------------------------------------------


@dataclass
class Preview:
    """What adopting a plan would do, against the ledger at ``version``."""

    diff: Diff
    version: int
    workspace: str
    plan_version: int | None
    """The ledger version the plan was made from (``None``: not planned from the ledger)."""


@dataclass
class Adopted:
    """An applied adoption."""

    id: int
    diff: Diff
    from_version: int
    version: int
    commitment_ids: list[int]


def plan_ledger_version(plan: Plan, workspace: str) -> int | None:
    """The ledger version a plan was made from (``plan --from-ledger``), else ``None``.

    Raises :class:`LedgerError` when it was made from another workspace's ledger.
    """
    try:
        info = plan.context.ledger
    except InputError as exc:  # a meta dict set by hand with a malformed ledger
        raise LedgerError(f"the plan's meta.ledger is not a ledger record: {exc}") from None
    if info is None or info.version is None:
        return None
    if info.workspace != workspace:
        raise LedgerError(
            f"the plan was made from workspace {info.workspace!r}, not {workspace!r}: "
            "pass --workspace to match, or re-plan from this workspace's ledger"
        )
    return info.version


def preview(
    ledger: Ledger, plan: Plan, workspace: str = DEFAULT_WORKSPACE, *, source: str = "plan.json"
) -> Preview:
    """The diff that adopting ``plan`` would apply to the ledger as it is now (read only).

    ``source`` names the plan in error messages."""
    items = _plan_items(plan, source)
    plan_version = plan_ledger_version(plan, workspace)
    with ledger.transaction() as s:
        ws = _workspace(s, workspace)
        version = ws.ledger_version if ws is not None else 0
        current = _items(s, ws)
    return Preview(diff(items, current), version, workspace, plan_version)


def _plan_items(plan: Plan, source: str = "plan.json") -> list[Item]:
    table = plan.tables.get("commitments")
    if table is None:
        return []
    starts = [d.isoformat() for d in plan.context.period_starts] or None
    return plan_items(table, period_starts=starts, source=source)


def adopt(
    ledger: Ledger,
    plan: Plan,
    *,
    workspace: str = DEFAULT_WORKSPACE,
    author: str | None = None,
    expect_version: int | None = None,
    before_commit: Callable[[Session, int, Adopted], None] | None = None,
) -> Adopted:
    """Apply ``plan`` to the ledger in one transaction: scenario version, plan run, adoption,
    contracts, commitments, audit rows and the version bump.

    The version expected is ``expect_version``, else the one the plan was made from (``plan
    --from-ledger``); when neither is known the adoption applies to the ledger as it is.
    ``before_commit(session, workspace_id, adopted)`` runs inside the transaction after the
    changes are written (e.g. to store an idempotent response with them); what it raises rolls
    everything back.

    Raises:
        StaleLedger: the ledger is not at the version expected (nothing is applied).
        LedgerError: the plan was made from another workspace.
    """
    author = author or default_author()
    plan_version = plan_ledger_version(plan, workspace)
    if plan_version is not None and expect_version is not None and plan_version != expect_version:
        raise StaleLedger(
            f"the plan was made from ledger version {plan_version}, but version {expect_version} "
            "was expected: re-plan from the ledger (hyperplan plan --from-ledger)"
        )
    expect = expect_version if expect_version is not None else plan_version
    items = _plan_items(plan)
    with ledger.transaction() as s:
        ws, version = _lock(s, workspace, expect)
        d = diff(items, _items(s, ws))
        run = _record_plan_run(s, ws, plan, author, plan_version)
        adoption = Adoption(
            workspace_id=ws.id,
            plan_run_id=run.id,
            from_version=version - 1,
            to_version=version,
            summary=d.summary(),
            author=author,
            created_at=utcnow(),
        )
        s.add(adoption)
        s.flush()
        write_audit(s, ws, version, author, "adopt", "adoption", adoption.id, None, d.summary())
        contracts = _upsert_contracts(s, ws, version, author, plan)
        ids = _apply_changes(s, ws, version, author, adoption.id, d, contracts)
        done = Adopted(adoption.id, d, version - 1, version, ids)
        if before_commit is not None:
            before_commit(s, ws.id, done)
        return done


def _record_plan_run(
    s: Session, ws: Workspace, plan: Plan, author: str, plan_version: int | None
) -> PlanRun:
    from hyperplan.ledger.provenance import versions

    context = plan.context
    info = context.ledger if context.ledger is not None else LedgerInfo()
    text = info.scenario_yaml
    if text is None and context.scenario is not None:
        scenario = context.scenario.model_dump(mode="json")
        text = yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True)
    sv_id = None
    if isinstance(text, str):
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        sv = s.scalar(
            select(ScenarioVersion).where(
                ScenarioVersion.workspace_id == ws.id, ScenarioVersion.sha256 == sha
            )
        )
        if sv is None:
            sv = ScenarioVersion(
                workspace_id=ws.id,
                name=str(plan.scenario_name)[:80],
                yaml_text=text,
                sha256=sha,
                author=author,
                created_at=utcnow(),
            )
            s.add(sv)
            s.flush()
        sv_id = sv.id
    made = info.versions
    options = dict(info.options) if info.options is not None else {}
    if made is None:  # not planned from the ledger: this process's versions
        made = versions()
        options["versions_from"] = "the adopting process (the plan does not record its own)"
    plan_text = json.dumps(plan.to_dict(), sort_keys=True, default=str)
    options.setdefault("integer", bool(plan.stats.get("integer", False)))
    options.setdefault("outages", len(context.scenarios or ("base",)) > 1)
    run = PlanRun(
        workspace_id=ws.id,
        scenario_version_id=sv_id,
        catalog_version=str(made.get("catalog", ""))[:40],
        catalog_sha256=str(made.get("catalog_sha256", ""))[:64],
        solver_version=str(made.get("solver", ""))[:40],
        hyperplan_version=str(made.get("hyperplan", ""))[:40],
        options=options,
        status=str(plan.status)[:80],
        from_ledger_version=plan_version,
        plan_sha256=hashlib.sha256(plan_text.encode("utf-8")).hexdigest(),
        plan_json=plan_text,
        author=author,
        created_at=utcnow(),
    )
    s.add(run)
    s.flush()
    return run


def _upsert_contracts(
    s: Session, ws: Workspace, version: int, author: str, plan: Plan
) -> list[Contract]:
    """The scenario's take-or-pay contracts into the ledger (by name); the workspace's list."""
    scenario = plan.context.scenario
    existing = {
        c.name: c for c in s.scalars(select(Contract).where(Contract.workspace_id == ws.id))
    }
    for declared in scenario.contracts if scenario is not None else []:
        values = {
            "provider": declared.provider,
            "committed_usd": float(declared.committed_usd),
            "start": declared.start,
            "end": declared.end,
            "discount": float(declared.discount),
        }
        name = declared.name
        old = existing.get(name)
        if old is None:
            c = Contract(workspace_id=ws.id, name=name, created_at=utcnow(), **values)
            s.add(c)
            s.flush()
            existing[c.name] = c
            write_audit(
                s, ws, version, author, "create", "contract", c.id, None, _contract_record(c)
            )
        elif any(getattr(old, k) != v for k, v in values.items()):
            before = _contract_record(old)
            for k, v in values.items():
                setattr(old, k, v)
            s.flush()
            write_audit(
                s, ws, version, author, "change", "contract", old.id, before, _contract_record(old)
            )
    return sorted(existing.values(), key=lambda c: (c.start, c.name))


def _contract_for(item: Item, contracts: list[Contract]) -> int | None:
    """The take-or-pay contract a commitment counts toward: same provider, its window holding
    the commitment's start (the earliest such contract)."""
    for c in contracts:
        if c.provider.lower() == item.provider.lower() and c.start <= item.start < c.end:
            return c.id
    return None


def _apply_changes(
    s: Session,
    ws: Workspace,
    version: int,
    author: str,
    adoption_id: int,
    d: Diff,
    contracts: list[Contract],
) -> list[int]:
    names = {c.id: c.name for c in contracts}
    ids = []
    now = utcnow()
    for change in d.changes:
        if change.action == "new":
            item = change.item
            c = Commitment(
                workspace_id=ws.id,
                adoption_id=adoption_id,
                kind=item.kind,
                provider=item.provider,
                region=item.region,
                offer=item.offer,
                accelerator=item.accelerator,
                term_years=item.term_years,
                start=item.start,
                end=item.end,
                quantity=item.quantity,
                usd_per_hour=item.usd_per_hour,
                value_usd=item.value_usd,
                contract_id=_contract_for(item, contracts),
                state="proposed",
                created_at=now,
                updated_at=now,
            )
            s.add(c)
            s.flush()
            write_audit(
                s,
                ws,
                version,
                author,
                "create",
                "commitment",
                c.id,
                None,
                commitment_record(c, names),
            )
            ids.append(c.id)
            continue
        old = change.before
        assert old is not None and old.id is not None
        c = s.execute(select(Commitment).where(Commitment.id == old.id)).scalar_one()
        before = commitment_record(c, names)
        if change.action == "cancelled":
            c.state = "cancelled"
        else:
            new = change.item
            c.quantity, c.usd_per_hour, c.value_usd = new.quantity, new.usd_per_hour, new.value_usd
            c.end, c.state, c.adoption_id = new.end, "proposed", adoption_id
            c.contract_id = _contract_for(new, contracts)
        c.updated_at = now
        s.flush()
        action = "cancel" if change.action == "cancelled" else "change"
        write_audit(
            s, ws, version, author, action, "commitment", c.id, before, commitment_record(c, names)
        )
        ids.append(c.id)
    return ids


# ----------------------------------------------------------------------------------------------
# State changes
# ----------------------------------------------------------------------------------------------


def transition(
    ledger: Ledger,
    commitment_id: int,
    state: str,
    *,
    workspace: str = DEFAULT_WORKSPACE,
    author: str | None = None,
    external_id: str | None = None,
    expect_version: int | None = None,
) -> dict[str, Any]:
    """Move one commitment to ``state`` (audited); return it as it is now.

    ``signed`` needs an ``external_id`` (e.g. the FOCUS CommitmentDiscountId of the provider's
    bill). Raises :class:`LedgerError` for an unknown id or a refused move (nothing written).
    """
    author = author or default_author()
    if state == "signed" and not (external_id and external_id.strip()):
        raise LedgerError("signing needs --external-id (e.g. the FOCUS CommitmentDiscountId)")
    with ledger.transaction() as s:
        ws = _workspace(s, workspace)
        c = s.get(Commitment, commitment_id) if ws is not None else None
        if c is None or ws is None or c.workspace_id != ws.id:
            raise CommitmentNotFound(
                f"no commitment with id {commitment_id} in workspace {workspace!r}"
            )
        ws, version = _lock(s, workspace, expect_version)
        s.refresh(c)
        why = refusal(c.state, state)
        if why is not None:
            raise RefusedMove(f"commitment {commitment_id}: {why}")
        names = {cid: name for cid, name in s.execute(select(Contract.id, Contract.name))}
        before = commitment_record(c, names)
        c.state = state
        if external_id is not None:
            c.external_id = external_id.strip()
        c.updated_at = utcnow()
        s.flush()
        after = commitment_record(c, names)
        action = "sign" if state == "signed" else state
        write_audit(s, ws, version, author, action, "commitment", c.id, before, after)
        return after


def sign(
    ledger: Ledger,
    commitment_id: int,
    external_id: str,
    *,
    workspace: str = DEFAULT_WORKSPACE,
    author: str | None = None,
) -> dict[str, Any]:
    """Record a signature: proposed or approved → signed, with the provider's id for it."""
    return transition(
        ledger,
        commitment_id,
        "signed",
        workspace=workspace,
        author=author,
        external_id=external_id,
    )


def held(ledger: Ledger, workspace: str = DEFAULT_WORKSPACE) -> tuple[int, list[dict[str, Any]]]:
    """The ledger version and its signed and active commitments (capacity already held)."""
    with ledger.transaction() as s:
        ws = _workspace(s, workspace)
        if ws is None:
            return 0, []
        q = (
            select(Commitment)
            .where(Commitment.workspace_id == ws.id, Commitment.state.in_(sorted(HELD)))
            .order_by(Commitment.id)
        )
        return ws.ledger_version, [commitment_record(c) for c in s.scalars(q)]


# ----------------------------------------------------------------------------------------------
# Scenario versions
# ----------------------------------------------------------------------------------------------


def _scenario_record(v: ScenarioVersion, *, text: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": v.id,
        "name": v.name,
        "sha256": v.sha256,
        "author": v.author,
        "created_at": v.created_at.isoformat(),
    }
    if text:
        out["yaml"] = v.yaml_text
    return out


def store_scenario(
    ledger: Ledger,
    text: str,
    *,
    name: str,
    workspace: str = DEFAULT_WORKSPACE,
    author: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store a (validated) scenario's YAML text as a scenario version; one row per distinct
    text, so storing the same text again returns the existing version.

    Returns ``(record, created)``. A new version writes an audit row at the workspace's
    current ledger version (scenarios do not move the ledger version).
    """
    author = author or default_author()
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with ledger.transaction() as s:
        ws = workspace_for_write(s, workspace)
        q = select(ScenarioVersion).where(
            ScenarioVersion.workspace_id == ws.id, ScenarioVersion.sha256 == sha
        )
        old = s.scalar(q)
        if old is not None:
            return _scenario_record(old), False
        v = ScenarioVersion(
            workspace_id=ws.id,
            name=name[:80],
            yaml_text=text,
            sha256=sha,
            author=author,
            created_at=utcnow(),
        )
        s.add(v)
        s.flush()
        record = _scenario_record(v)
        write_audit(
            s, ws, ws.ledger_version, author, "create", "scenario_version", v.id, None, record
        )
        return record, True


def list_scenarios(ledger: Ledger, workspace: str = DEFAULT_WORKSPACE) -> list[dict[str, Any]]:
    """The workspace's scenario versions (without their text), ordered by id."""
    with ledger.transaction() as s:
        ws = _workspace(s, workspace)
        if ws is None:
            return []
        q = select(ScenarioVersion).where(ScenarioVersion.workspace_id == ws.id)
        return [_scenario_record(v) for v in s.scalars(q.order_by(ScenarioVersion.id))]


def get_scenario(
    ledger: Ledger, scenario_id: int, workspace: str = DEFAULT_WORKSPACE
) -> dict[str, Any]:
    """One scenario version with its YAML text; :class:`LedgerError` when it is not there."""
    with ledger.transaction() as s:
        ws = _workspace(s, workspace)
        v = s.get(ScenarioVersion, scenario_id) if ws is not None else None
        if v is None or ws is None or v.workspace_id != ws.id:
            raise ScenarioNotFound(
                f"no scenario version with id {scenario_id} in workspace {workspace!r}"
            )
        return _scenario_record(v, text=True)
