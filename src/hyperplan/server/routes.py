"""The API's routes (all under ``/api/v1``; the workspace is in the path).

Reads need the viewer role; storing a scenario and previewing an adoption, planner; adopting,
signing and moving commitments, approver; managing the workspace's tokens, admin. Each route is
a few lines over :mod:`hyperplan.ledger.api` and :mod:`hyperplan.ledger.access`; the library
writes the audit log (who: the token's user).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

import hyperplan.server.reads as reads
from hyperplan.errors import InputError, Problem
from hyperplan.ledger import access, api
from hyperplan.ledger.access import Grant
from hyperplan.ledger.db import Ledger, current_revision
from hyperplan.ledger.errors import StaleLedger
from hyperplan.server import schemas as m
from hyperplan.server.auth import Principal, app_ledger, authenticated, require_role
from hyperplan.server.errors import ApiError
from hyperplan.version import __version__

PREFIX = "/api/v1"
PAGE_DEFAULT = 1000
"""Rows per page of a listing unless ``limit`` says otherwise."""
PAGE_MAX = 10_000
"""Most rows one page may hold."""
PLAN_BODY = "plan.json"
"""How a plan sent in a request body is named in located problems."""

Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Planner = Annotated[Principal, Depends(require_role("planner"))]
Approver = Annotated[Principal, Depends(require_role("approver"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
Ledgers = Annotated[Ledger, Depends(app_ledger)]
IdPath = Annotated[int, Path(ge=1, le=2**62, description="record id")]
ErrorBodyRef: dict[str, Any] = {"model": m.ErrorBody}
After = Annotated[int | None, Query(ge=0, le=2**62, description="only rows with an id above")]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="rows per page")]
ExpectVersion = Annotated[
    int | None,
    Query(ge=0, le=2**62, description="refuse (409) unless the ledger is at this version"),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="replay the first answer for a retried request (1-200 printable ASCII)",
    ),
]

AUTH = {401: ErrorBodyRef, 403: ErrorBodyRef, 422: ErrorBodyRef, 503: ErrorBodyRef}
"""Errors every authenticated route may answer (documented in OpenAPI)."""
PLAN_REQUEST = {
    "requestBody": {
        "required": True,
        "description": "a plan.json written by `hyperplan plan -o` (schema hyperplan.plan/1)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")
SCENARIO_REQUEST = {
    "requestBody": {
        "required": True,
        "description": "a scenario.yaml (UTF-8 text)",
        "content": {t: {"schema": {"type": "string"}} for t in YAML_TYPES},
    }
}

router = APIRouter(prefix=PREFIX)


def json_bytes(value: Any, status_code: int = 200) -> Response:
    """A JSON response of ``value`` serialised once (:func:`hyperplan.server.reads.dumps`):
    FastAPI does not validate it again against the route's response model."""
    return Response(reads.dumps(value), status_code=status_code, media_type="application/json")


def workspace_row(ledger: Ledger, who: Principal) -> tuple[int | None, int]:
    """``(row id, ledger version)`` of the caller's workspace: as the token lookup read them,
    else queried."""
    if who.workspace_id is not None and who.ledger_version is not None:
        return who.workspace_id, who.ledger_version
    return reads.workspace_id(ledger, who.workspace)


# ----------------------------------------------------------------------------------------------
# health, workspaces
# ----------------------------------------------------------------------------------------------


@router.get(
    "/health",
    response_model=m.Health,
    tags=["server"],
    summary="Is the server up?",
    responses={503: ErrorBodyRef},
)
def health(ledger: Ledgers) -> dict[str, Any]:
    """No token needed. 503 when the database does not answer."""
    return {
        "status": "ok",
        "version": __version__,
        "database": ledger.url.get_backend_name(),
        "schema_revision": current_revision(ledger),
    }


@router.get(
    "/workspaces",
    response_model=list[m.WorkspaceAccess],
    tags=["workspaces"],
    summary="Workspaces the caller holds tokens for",
    responses={401: ErrorBodyRef, 503: ErrorBodyRef},
)
def workspaces(grant: Annotated[Grant, Depends(authenticated)], ledger: Ledgers) -> Any:
    """Every workspace the token's user holds a live token for, with the highest role held."""
    return access.workspaces_of(ledger, grant.user)


@router.get(
    "/{workspace}",
    response_model=m.WorkspaceAccess,
    tags=["workspaces"],
    summary="One workspace: the caller's role and the ledger version",
    responses=AUTH,
)
def workspace_info(who: Viewer, ledger: Ledgers) -> Response:
    """The ledger version here is what ``?expect_version=`` of a change compares against."""
    _, version = workspace_row(ledger, who)
    return json_bytes({"workspace": who.workspace, "role": who.role, "ledger_version": version})


# ----------------------------------------------------------------------------------------------
# scenarios
# ----------------------------------------------------------------------------------------------


@router.get(
    "/{workspace}/scenarios",
    response_model=list[m.ScenarioOut],
    tags=["scenarios"],
    summary="Stored scenario versions",
    responses=AUTH,
)
def scenarios(who: Viewer, ledger: Ledgers) -> Any:
    """Ordered by id; without their text (GET one for it)."""
    return api.list_scenarios(ledger, who.workspace)


@router.get(
    "/{workspace}/scenarios/{scenario_id}",
    response_model=m.ScenarioDetail,
    tags=["scenarios"],
    summary="One scenario version with its YAML text",
    responses={**AUTH, 404: ErrorBodyRef},
)
def scenario(who: Viewer, ledger: Ledgers, scenario_id: IdPath) -> Any:
    return api.get_scenario(ledger, scenario_id, who.workspace)


def _validate_scenario(text_bytes: bytes, filename: str) -> tuple[str, str]:
    """The scenario's text and name after the CLI's validation (located problems, 422)."""
    import tempfile

    from hyperplan.scenario.load import load_scenario_text
    from hyperplan.scenario.yamlpos import decode_yaml_bytes

    text = decode_yaml_bytes(text_bytes, filename)
    # an empty folder: a scenario sent over HTTP may not read the server's files
    with tempfile.TemporaryDirectory(prefix="hyperplan-scenario-") as empty:
        scenario = load_scenario_text(text, filename=filename, base_dir=empty)
    return text, str(scenario.name)


@router.post(
    "/{workspace}/scenarios",
    response_model=m.ScenarioStored,
    status_code=201,
    tags=["scenarios"],
    summary="Validate a scenario.yaml and store it as a scenario version",
    responses={**AUTH, 200: {"model": m.ScenarioStored, "description": "stored before"}},
    openapi_extra=SCENARIO_REQUEST,
)
async def store_scenario(
    request: Request,
    who: Planner,
    ledger: Ledgers,
    filename: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00-\x1f]+$",
            description="name used in located problems (file:line:column)",
        ),
    ] = "scenario.yaml",
) -> Any:
    """Validated exactly as ``hyperplan validate`` does: problems come back 422 with
    ``file:line:column`` and field paths. The same text stored twice is one version (200)."""
    body = await request.body()
    text, name = await run_in_threadpool(_validate_scenario, body, filename)
    record, created = await run_in_threadpool(
        api.store_scenario, ledger, text, name=name, workspace=who.workspace, author=who.user
    )
    return JSONResponse({**record, "created": created}, status_code=201 if created else 200)


# ----------------------------------------------------------------------------------------------
# ledger reads
# ----------------------------------------------------------------------------------------------

State = Annotated[
    Literal["proposed", "approved", "signed", "active", "expired", "cancelled"] | None,
    Query(description="only this state"),
]
Provider = Annotated[str | None, Query(max_length=80, description="only this provider")]


@router.get(
    "/{workspace}/commitments",
    response_model=m.CommitmentPage,
    tags=["ledger"],
    summary="List commitments (a page, ordered by id)",
    responses=AUTH,
)
def commitments(
    who: Viewer,
    ledger: Ledgers,
    state: State = None,
    provider: Provider = None,
    after: After = None,
    limit: Limit = PAGE_DEFAULT,
) -> Response:
    """Pass ``after=next_after`` for the next page; ``next_after`` is null on the last.
    ``ledger_version`` is read before the page (a change made meanwhile may show in it)."""
    ws_id, version = workspace_row(ledger, who)
    rows, next_after = reads.commitment_page(
        ledger, ws_id, state=state, provider=provider, after_id=after, limit=limit
    )
    return json_bytes(
        {
            "workspace": who.workspace,
            "ledger_version": version,
            "items": rows,
            "next_after": next_after,
        }
    )


@router.get(
    "/{workspace}/commitments/export",
    tags=["ledger"],
    summary="Export every commitment as CSV or JSON (a file, as `hyperplan ledger -f`)",
    responses={
        **AUTH,
        200: {
            "description": "the commitments",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/CommitmentOut"},
                    }
                },
            },
        },
    },
)
def export(
    who: Viewer,
    ledger: Ledgers,
    format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
    state: State = None,
    provider: Provider = None,
) -> Response:
    """The same columns and values as ``hyperplan ledger --format csv|json``."""
    from hyperplan.ledger.export import export_rows

    rows = api.list_commitments(ledger, who.workspace, state=state, provider=provider)
    text = export_rows(rows, format)
    name = f"commitments-{who.workspace}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return PlainTextResponse(text, media_type="text/csv", headers=headers)
    return Response(text, media_type="application/json", headers=headers)


@router.get(
    "/{workspace}/contracts",
    response_model=list[m.ContractOut],
    tags=["ledger"],
    summary="Take-or-pay contracts",
    responses=AUTH,
)
def contracts(who: Viewer, ledger: Ledgers) -> Response:
    """Ordered by name."""
    return json_bytes(reads.contracts(ledger, workspace_row(ledger, who)[0]))


@router.get(
    "/{workspace}/audit",
    response_model=m.AuditPage,
    tags=["ledger"],
    summary="The audit log (a page, oldest first)",
    responses=AUTH,
)
def audit(
    who: Viewer, ledger: Ledgers, after: After = None, limit: Limit = PAGE_DEFAULT
) -> Response:
    """Who did what, when, at which ledger version, with the record before and after."""
    ws_id, _ = workspace_row(ledger, who)
    rows, next_after = reads.audit_page(ledger, ws_id, after_id=after, limit=limit)
    return json_bytes({"items": rows, "next_after": next_after})


# ----------------------------------------------------------------------------------------------
# adoption
# ----------------------------------------------------------------------------------------------


def parse_plan(body: bytes) -> Any:
    """A Plan from a request body; anything else is a located 422 (line and column for JSON)."""
    from hyperplan.plan.artifact import plan_from_dict

    def refuse(message: str, **where: Any) -> InputError:
        return InputError([Problem(message, file=PLAN_BODY, **where)])

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise refuse("is empty; expected a plan.json written by `hyperplan plan -o`")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refuse(f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise refuse("invalid JSON: nested too deeply") from None
    except ValueError as exc:
        raise refuse(f"invalid JSON: {exc}") from None
    plan = plan_from_dict(data, file=PLAN_BODY)
    if "commitments" not in plan.tables:
        raise refuse("the plan has no commitments table: not a plan")
    return plan


def _item_out(item: Any) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "provider": item.provider,
        "region": item.region,
        "offer": item.offer,
        "accelerator": item.accelerator,
        "term_years": item.term_years,
        "start": item.start.isoformat(),
        "end": item.end.isoformat(),
        "quantity": item.quantity,
        "usd_per_hour": item.usd_per_hour,
        "value_usd": item.value_usd,
    }


def preview_body(pv: api.Preview) -> dict[str, Any]:
    """A :class:`~hyperplan.ledger.api.Preview` as the JSON of :class:`PreviewOut`."""
    d = pv.diff
    changes = []
    for c in d.changes:
        before = c.before
        changes.append(
            {
                "action": c.action,
                "id": before.id if before is not None else None,
                **_item_out(c.item),
                "before_quantity": before.quantity if before is not None else None,
                "before_value_usd": before.value_usd if before is not None else None,
            }
        )
    s = d.summary()
    return {
        "workspace": pv.workspace,
        "ledger_version": pv.version,
        "plan_ledger_version": pv.plan_version,
        "stale": pv.plan_version is not None and pv.plan_version != pv.version,
        "new": s["new"],
        "changed": s["changed"],
        "cancelled": s["cancelled"],
        "unchanged": s["unchanged"],
        "held": d.held,
        "changes": changes,
        "money": [
            {"provider": str(r.provider), "before_usd": r.before_usd, "after_usd": r.after_usd}
            for r in d.money.itertuples()
        ],
        "before_usd": s["before_usd"],
        "after_usd": s["after_usd"],
    }


@router.post(
    "/{workspace}/adoptions/preview",
    response_model=m.PreviewOut,
    tags=["adoption"],
    summary="What adopting a plan would change (read only)",
    responses=AUTH,
    openapi_extra=PLAN_REQUEST,
)
async def preview(request: Request, who: Planner, ledger: Ledgers) -> Any:
    """Like ``hyperplan adopt plan.json`` without ``--yes``. Apply with
    ``POST /adoptions?expect_version=<ledger_version>``."""
    body = await request.body()

    def run() -> dict[str, Any]:
        plan = parse_plan(body)
        return preview_body(api.preview(ledger, plan, who.workspace, source=PLAN_BODY))

    return await run_in_threadpool(run)


def _adopted_body(done: api.Adopted, workspace: str) -> dict[str, Any]:
    s = done.diff.summary()
    return {
        "adoption_id": done.id,
        "workspace": workspace,
        "from_version": done.from_version,
        "ledger_version": done.version,
        "commitment_ids": done.commitment_ids,
        "new": s["new"],
        "changed": s["changed"],
        "cancelled": s["cancelled"],
        "unchanged": s["unchanged"],
    }


def _replay(found: tuple[str, int, dict[str, Any]], digest: str) -> JSONResponse:
    sha, status, response = found
    if sha != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; use a new key",
        )
    return JSONResponse(response, status_code=status, headers={"Idempotent-Replayed": "true"})


def _adopt(
    ledger: Ledger, who: Principal, body: bytes, expect: int, key: str | None
) -> JSONResponse:
    digest = hashlib.sha256(b"adopt\n%d\n" % expect + body).hexdigest()
    if key is not None:
        if not access.IDEMPOTENCY_KEY_RE.match(key):
            raise ApiError(
                422, "invalid_request", "Idempotency-Key: 1-200 printable ASCII characters"
            )
        found = access.find_idempotent(ledger, who.workspace, key)
        if found is not None:
            return _replay(found, digest)
    plan = parse_plan(body)

    def remember(s: Any, workspace_id: int, done: api.Adopted) -> None:
        if key is not None:
            answer = _adopted_body(done, who.workspace)
            access.record_idempotent(s, workspace_id, key, digest, 201, answer, who.user)

    try:
        done = api.adopt(
            ledger,
            plan,
            workspace=who.workspace,
            author=who.user,
            expect_version=expect,
            before_commit=remember,
        )
    except (StaleLedger, access.IdempotencyClash):
        # the same request may have won the race under the same key: answer as it was answered
        found = access.find_idempotent(ledger, who.workspace, key) if key is not None else None
        if found is not None:
            return _replay(found, digest)
        raise
    return JSONResponse(_adopted_body(done, who.workspace), status_code=201)


@router.post(
    "/{workspace}/adoptions",
    response_model=m.AdoptionOut,
    status_code=201,
    tags=["adoption"],
    summary="Adopt a plan into the ledger (approver)",
    responses={**AUTH, 409: ErrorBodyRef},
    openapi_extra=PLAN_REQUEST,
)
async def adopt(
    request: Request,
    who: Approver,
    ledger: Ledgers,
    expect_version: Annotated[
        int,
        Query(
            ge=0,
            le=2**62,
            description="the ledger version the preview showed; 409 when it moved since",
        ),
    ],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Like ``hyperplan adopt plan.json --yes --expect-version N``: one transaction, audited;
    409 when the ledger is not at ``expect_version`` (or the plan was made from another
    version). With an ``Idempotency-Key``, a retry of the same request gets the first answer
    (header ``Idempotent-Replayed: true``) and changes nothing."""
    body = await request.body()
    return await run_in_threadpool(_adopt, ledger, who, body, expect_version, idempotency_key)


# ----------------------------------------------------------------------------------------------
# commitments: sign and move
# ----------------------------------------------------------------------------------------------

MOVES = {"approve": "approved", "activate": "active", "expire": "expired", "cancel": "cancelled"}


@router.post(
    "/{workspace}/commitments/{commitment_id}/sign",
    response_model=m.CommitmentOut,
    tags=["ledger"],
    summary="Record a signature with the provider's id (approver)",
    responses={**AUTH, 404: ErrorBodyRef, 409: ErrorBodyRef},
)
def sign(
    who: Approver,
    ledger: Ledgers,
    commitment_id: IdPath,
    body: m.SignIn,
    expect_version: ExpectVersion = None,
) -> Any:
    """A proposed or approved commitment becomes signed (409 from any other state)."""
    return api.transition(
        ledger,
        commitment_id,
        "signed",
        workspace=who.workspace,
        author=who.user,
        external_id=body.external_id,
        expect_version=expect_version,
    )


def _move_route(verb: str, state: str) -> None:
    def move(
        who: Approver,
        ledger: Ledgers,
        commitment_id: IdPath,
        expect_version: ExpectVersion = None,
    ) -> Any:
        return api.transition(
            ledger,
            commitment_id,
            state,
            workspace=who.workspace,
            author=who.user,
            expect_version=expect_version,
        )

    move.__name__ = verb
    move.__doc__ = (
        f"Like ``hyperplan ledger {verb} ID``: audited; 409 when the commitment's state does "
        f"not allow it (or the ledger is not at ``expect_version``)."
    )
    router.add_api_route(
        f"/{{workspace}}/commitments/{{commitment_id}}/{verb}",
        move,
        methods=["POST"],
        response_model=m.CommitmentOut,
        tags=["ledger"],
        summary=f"Move a commitment to {state} (approver)",
        responses={**AUTH, 404: ErrorBodyRef, 409: ErrorBodyRef},
    )


for _verb, _state in MOVES.items():
    _move_route(_verb, _state)


# ----------------------------------------------------------------------------------------------
# tokens (admin)
# ----------------------------------------------------------------------------------------------


@router.get(
    "/{workspace}/tokens",
    response_model=list[m.TokenOut],
    tags=["tokens"],
    summary="The workspace's API tokens (never their text) (admin)",
    responses=AUTH,
)
def tokens(who: Admin, ledger: Ledgers) -> Any:
    return access.list_tokens(ledger, workspace=who.workspace)


@router.post(
    "/{workspace}/tokens",
    response_model=m.TokenCreated,
    status_code=201,
    tags=["tokens"],
    summary="Create a token in this workspace; its text is shown this once (admin)",
    responses=AUTH,
)
def create_token(who: Admin, ledger: Ledgers, body: m.TokenIn) -> Any:
    token, record = access.create_token(
        ledger, body.user, who.workspace, body.role, name=body.name, author=who.user
    )
    return {**record, "token": token}


@router.delete(
    "/{workspace}/tokens/{token_id}",
    response_model=m.TokenOut,
    tags=["tokens"],
    summary="Revoke a token of this workspace (admin)",
    responses={**AUTH, 404: ErrorBodyRef},
)
def revoke_token(who: Admin, ledger: Ledgers, token_id: IdPath) -> Any:
    return access.revoke_token(ledger, token_id, author=who.user, workspace=who.workspace)
