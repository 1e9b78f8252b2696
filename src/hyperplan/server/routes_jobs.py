"""The job endpoints: queue plans, comparisons and simulations; follow, cancel, fetch results.

    POST /api/v1/{workspace}/jobs                  planner  queue a job (Idempotency-Key honoured)
    GET  /api/v1/{workspace}/jobs                  viewer   list (newest first; ?state=&limit=)
    GET  /api/v1/{workspace}/jobs/{id}             viewer   one job, with progress and history
    POST /api/v1/{workspace}/jobs/{id}/cancel      planner  cancel (queued: now; running: soon)
    GET  /api/v1/{workspace}/jobs/{id}/result      viewer   plan.json, sim.json or the comparison

Jobs are run by ``hyperplan worker`` processes (:mod:`hyperplan.server.worker`). The app wires
the router with its auth dependency: ``app.include_router(jobs_router(require_role))``; the
ledger is ``request.app.state.ledger`` unless ``get_ledger`` is given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

import hyperplan.server.reads as reads
from hyperplan.errors import InputError
from hyperplan.ledger import jobs
from hyperplan.ledger.db import Ledger
from hyperplan.ledger.errors import LedgerError
from hyperplan.server.errors import ApiError, database_unavailable
from hyperplan.server.worker import check_input, check_params

log = logging.getLogger(__name__)

JobId = Annotated[int, Path(ge=1, le=2**62, description="job id")]
"""A job id as the other record ids (routes.IdPath): beyond the range any database holds is a
422, not a driver overflow."""


class JobRequest(BaseModel):
    """A job to queue. ``plan`` and ``compare`` take ``scenario_yaml``; ``simulate`` takes a
    ``plan`` (a plan.json document) or the ``plan_run_id`` of a plan in this workspace."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["plan", "compare", "simulate"]
    scenario_yaml: str | None = Field(None, description="The scenario (plan, compare).")
    plan: dict[str, Any] | None = Field(None, description="A plan.json document (simulate).")
    plan_run_id: int | None = Field(None, ge=1, description="A plan run to simulate.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Options of the kind (as its CLI command's)."
    )
    time_limit_seconds: float = Field(
        jobs.DEFAULT_TIME_LIMIT, gt=0, le=jobs.MAX_TIME_LIMIT, description="Per attempt, s."
    )
    max_attempts: int = Field(
        jobs.DEFAULT_MAX_ATTEMPTS, ge=1, le=100, description="Attempts it may lose to dead workers."
    )


class JobAttempt(BaseModel):
    """One attempt of a job: the worker, its process, when it started, last renewed, ended."""

    attempt: int
    worker: str
    pid: int | None = None
    started: str
    beat: str | None = None
    ended: str | None = None
    outcome: str | None = None


class JobOut(BaseModel):
    """A job: its state, progress, attempts and (once succeeded) where its result is."""

    id: int
    workspace: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    params: dict[str, Any]
    author: str
    idempotency_key: str | None
    attempt: int = Field(description="Claims so far (the fencing token of the running one).")
    lost: int = Field(description="Attempts lost to a worker that died.")
    max_attempts: int
    time_limit_seconds: float
    worker: str | None
    lease_until: str | None
    cancel_requested: bool
    progress: dict[str, Any] | None
    error: str | None
    plan_run_id: int | None
    has_result: bool
    history: list[JobAttempt]
    created_at: str
    updated_at: str
    started_at: str | None
    finished_at: str | None


def _app_ledger(request: Request) -> Ledger:
    return request.app.state.ledger  # type: ignore[no-any-return]


def _http(exc: Exception) -> HTTPException | ApiError:
    """A job error as an HTTP error (never a traceback, never a 500)."""
    if isinstance(exc, InputError):
        problems = [
            {
                "message": p.message,
                "file": p.file,
                "line": p.line,
                "column": p.column,
                "path": p.path,
            }
            for p in exc.problems
        ]
        return HTTPException(422, detail={"message": str(exc), "problems": problems})
    if isinstance(exc, jobs.JobNotFound):
        return HTTPException(404, detail=str(exc))
    if isinstance(exc, jobs.JobConflict):
        return HTTPException(409, detail=str(exc))
    if isinstance(exc, jobs.JobError):
        return HTTPException(409, detail=str(exc))
    log.warning("database unavailable: %s", exc)  # the URL and driver text stay in the log
    return database_unavailable()


def _workspace_id(ledger: Ledger, principal: Any) -> int | None:
    """The principal's workspace row id: as its token lookup read it, else queried."""
    ws_id = getattr(principal, "workspace_id", None)
    return ws_id if ws_id is not None else reads.workspace_id(ledger, principal.workspace)[0]


def jobs_router(
    require_role: Callable[[str], Any],
    get_ledger: Callable[..., Ledger] | None = None,
) -> APIRouter:
    """The job routes, guarded by ``require_role(min_role)`` (a dependency returning a
    principal with ``user`` and ``workspace``)."""
    router = APIRouter(prefix="/api/v1/{workspace}/jobs", tags=["jobs"])
    ledger_dep = get_ledger or _app_ledger
    from hyperplan.server.routes import AUTH

    errors: dict[int | str, dict[str, Any]] = {
        **AUTH,
        404: {"description": "No such job in the workspace."},
        409: {"description": "Refused in the job's state, or an idempotency key reused."},
        422: {"description": "Bad input, located (file:line:column, field path)."},
        503: {"description": "The ledger database is not available."},
    }

    @router.post(
        "",
        response_model=JobOut,
        status_code=201,
        summary="Queue a plan, comparison or simulation",
        responses={200: {"description": "The job of an earlier request with this key."}, **errors},
    )
    def create_job(
        body: JobRequest,
        response: Response,
        ledger: Ledger = Depends(ledger_dep),
        principal: Any = Depends(require_role("planner")),
        idempotency_key: Annotated[
            str | None, Header(alias="Idempotency-Key", max_length=jobs.MAX_KEY)
        ] = None,
    ) -> dict[str, Any]:
        try:
            params = check_params(body.kind, body.params)
            if body.kind == "simulate":
                if (body.plan is None) == (body.plan_run_id is None):
                    raise HTTPException(422, detail="simulate takes one of plan or plan_run_id")
                if body.plan is not None:
                    text = json.dumps(body.plan, sort_keys=True)
                else:
                    assert body.plan_run_id is not None
                    text = jobs.plan_run_json(ledger, body.plan_run_id, principal.workspace)
            else:
                if body.scenario_yaml is None or body.plan is not None or body.plan_run_id:
                    raise HTTPException(422, detail=f"{body.kind} takes scenario_yaml only")
                text = body.scenario_yaml
            check_input(body.kind, text, params)
            job, created = jobs.enqueue(
                ledger,
                principal.workspace,
                body.kind,
                text,
                params=params,
                author=str(principal.user),
                idempotency_key=idempotency_key,
                max_attempts=body.max_attempts,
                time_limit_seconds=body.time_limit_seconds,
            )
        except (InputError, LedgerError, jobs.JobConflict) as exc:
            raise _http(exc) from None
        if not created:
            response.status_code = 200
        return job

    @router.get("", response_model=list[JobOut], summary="List jobs", responses=errors)
    def list_jobs(
        ledger: Ledger = Depends(ledger_dep),
        principal: Any = Depends(require_role("viewer")),
        state: Annotated[
            Literal["queued", "running", "succeeded", "failed", "cancelled"] | None, Query()
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        try:
            ws_id = _workspace_id(ledger, principal)
            rows = reads.job_list(ledger, ws_id, principal.workspace, state=state, limit=limit)
        except LedgerError as exc:
            raise _http(exc) from None
        return Response(reads.dumps(rows), media_type="application/json")

    @router.get("/{job_id}", response_model=JobOut, summary="One job", responses=errors)
    def get_job(
        job_id: JobId,
        ledger: Ledger = Depends(ledger_dep),
        principal: Any = Depends(require_role("viewer")),
    ) -> Response:
        try:
            ws_id = _workspace_id(ledger, principal)
            record = reads.job(ledger, ws_id, principal.workspace, job_id)
        except LedgerError as exc:
            raise _http(exc) from None
        return Response(reads.dumps(record), media_type="application/json")

    @router.post(
        "/{job_id}/cancel", response_model=JobOut, summary="Cancel a job", responses=errors
    )
    def cancel_job(
        job_id: JobId,
        ledger: Ledger = Depends(ledger_dep),
        principal: Any = Depends(require_role("planner")),
    ) -> dict[str, Any]:
        try:
            return jobs.request_cancel(ledger, job_id, principal.workspace)
        except LedgerError as exc:
            raise _http(exc) from None

    @router.get(
        "/{job_id}/result",
        summary="A succeeded job's result: plan.json, sim.json or the comparison table",
        responses={200: {"content": {"application/json": {}}}, **errors},
    )
    def job_result(
        job_id: JobId,
        ledger: Ledger = Depends(ledger_dep),
        principal: Any = Depends(require_role("viewer")),
    ) -> Response:
        try:
            _, text = jobs.result(ledger, job_id, principal.workspace)
        except LedgerError as exc:
            raise _http(exc) from None
        return Response(content=text, media_type="application/json")

    return router
