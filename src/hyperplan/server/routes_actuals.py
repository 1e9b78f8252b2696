"""The actuals endpoints: FOCUS billing exports into the ledger, and the answers they give.

    GET  /api/v1/{workspace}/actuals           viewer   the stored imports, oldest first
    POST /api/v1/{workspace}/actuals/imports   planner  upload one FOCUS export (Idempotency-Key)
    GET  /api/v1/{workspace}/actuals/report    viewer   the tables of ``actuals report --json``
    POST /api/v1/{workspace}/actuals/replan    planner  queue a replan job (Idempotency-Key)

An upload is streamed to a private temporary file (bounded by the app's body limit, 413 above
it), read and stored by :func:`hyperplan.actuals.store.import_files` exactly as ``hyperplan
actuals import`` does (same SHA-256 dedup, one transaction: a bad file stores nothing), under
the file name the client gave. The report is :func:`hyperplan.actuals.collect.to_json` of the
stored actuals with the ledger's contracts and commitments, and optionally a stored plan run
for plan vs actual.

A replan is a long solve, so ``POST .../actuals/replan`` queues a durable job of kind
``replan`` (:mod:`hyperplan.ledger.jobs`, run by ``hyperplan worker``) after checking at once
what can be checked: the scenario (its YAML, or a stored scenario version), the as-of month
(a period start of the scenario after the first) and that the workspace has an adopted plan.
The job is then followed with the job routes (``GET .../jobs/{id}``); its result
(``GET .../jobs/{id}/result``) is the document of ``hyperplan replan --json``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

import hyperplan.ledger.jobs as jobs
from hyperplan.errors import InputError, Problem
from hyperplan.ledger import access
from hyperplan.ledger.db import Ledger
from hyperplan.ledger.errors import LedgerError, LedgerUnavailable
from hyperplan.server.auth import Principal
from hyperplan.server.errors import ApiError
from hyperplan.server.routes import (
    AUTH,
    PREFIX,
    ErrorBodyRef,
    IdempotencyKey,
    Ledgers,
    Planner,
    Viewer,
    _replay,
)
from hyperplan.server.routes_jobs import JobOut

KINDS: dict[str, tuple[str, ...]] = {
    ".csv.gz": ("application/gzip", "application/x-gzip", "application/octet-stream"),
    ".csv": ("text/csv", "application/csv", "text/plain", "application/octet-stream"),
    ".parquet": (
        "application/vnd.apache.parquet",
        "application/x-parquet",
        "application/octet-stream",
    ),
}
"""Accepted ``Content-Type`` of an upload by the file name's suffix (longest suffix first)."""
NAME_RE = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,200}$")
"""A client's file name: 1-200 characters, no folder separators, no control characters."""
CHUNK_BYTES = 1 << 20
"""Bytes written to the temporary file at a time."""
MAPPING_MAX_BYTES = 8 * 1024
"""Largest user mapping sent with an upload (``?mapping=``), bytes of UTF-8: it travels in the
request line, which servers bound (uvicorn's h11: 16 KiB for the line and the headers, and
URL-encoding grows a CSV by about a sixth). About 200 rows of ``column,value,instance_type``."""
MAPPING_FILE = "query.mapping"
"""The file named in the located problems of a mapping sent with an upload."""

UPLOAD_REQUEST = {
    "requestBody": {
        "required": True,
        "description": "one FOCUS 1.0-1.3 cost-and-usage export: CSV, gzip-compressed CSV or "
        "Parquet (the raw bytes; Content-Type by the file name's suffix)",
        "content": {
            t: {"schema": {"type": "string", "format": "binary"}}
            for t in dict.fromkeys(t for types in KINDS.values() for t in types)
        },
    }
}


class ImportRecord(BaseModel):
    """One imported FOCUS file: its name, SHA-256, FOCUS rows, the months it covers, rows that
    map to nothing (by reason: rows and EffectiveCost, USD), who imported it and when."""

    id: int
    path: str = Field(description="the file's name as the importer gave it")
    sha256: str
    rows: int = Field(description="FOCUS rows read")
    first_month: str | None = Field(description="YYYY-MM (null: no dated row)")
    last_month: str | None
    unmapped: dict[str, dict[str, int | float]] = Field(
        description="reason -> {rows, effective_usd (USD)}"
    )
    warnings: list[str]
    author: str
    imported_at: str = Field(description="ISO UTC timestamp")


class ImportStored(ImportRecord):
    """An import stored by this request, with the number of groups its rows were summed into."""

    groups: int


class ImportSkipped(BaseModel):
    """A file whose bytes the workspace already holds: not counted again."""

    path: str
    sha256: str
    previous: dict[str, Any] = Field(description="the import that holds the same bytes")


class UnmappedOut(BaseModel):
    """Rows of the upload that map to nothing, by reason (EffectiveCost in USD)."""

    reason: str
    rows: int
    effective_usd: float


class ImportOut(BaseModel):
    """What an upload did: the file ``stored`` (201) or ``skipped`` as already imported (200),
    as ``hyperplan actuals import --json`` prints it."""

    schema_: Literal["hyperplan.actuals-import/1"] = Field(alias="schema")
    stored: list[ImportStored]
    skipped: list[ImportSkipped]
    warnings: list[str]
    unmapped: list[UnmappedOut]


class ActualsTable(BaseModel):
    """One answer table: its rows as records and the unit of each column that has one."""

    units: dict[str, str]
    rows: list[dict[str, Any]]


class ActualsReport(BaseModel):
    """The answers of the stored actuals, as ``hyperplan actuals report --json`` prints them:
    spend, unmapped rows, utilisation and waste, coverage, plan vs actual (with a plan run),
    contract burn-down (with contracts), the ledger's signed and active commitments."""

    schema_: Literal["hyperplan.actuals/1"] = Field(alias="schema")
    files: list[str] = Field(description="the imported files, oldest first")
    rows: int = Field(description="FOCUS rows in all")
    extra_columns: list[str] = Field(description="x_ columns kept")
    warnings: list[str]
    tables: dict[str, ActualsTable]


class ReplanRequest(BaseModel):
    """A replan to queue: the scenario (its YAML text, or the id of a scenario version stored
    in the workspace), the as-of month and the options of ``hyperplan replan``."""

    model_config = ConfigDict(extra="forbid")
    as_of: str = Field(
        max_length=10, description="First month not yet past, YYYY-MM (a period start)."
    )
    scenario_yaml: str | None = Field(None, description="The scenario adopted, as YAML text.")
    scenario_version_id: int | None = Field(
        None, ge=1, le=2**62, description="Or a scenario version of this workspace."
    )
    integer: bool | None = Field(None, description="Whole instances (MILP); default: scenario's.")
    outages: bool = Field(True, description="Plan for the scenario's outage cases.")
    time_limit_seconds: float = Field(
        jobs.DEFAULT_TIME_LIMIT, gt=0, le=jobs.MAX_TIME_LIMIT, description="Per attempt, s."
    )
    max_attempts: int = Field(
        jobs.DEFAULT_MAX_ATTEMPTS, ge=1, le=100, description="Attempts it may lose to dead workers."
    )


def actuals_router() -> APIRouter:
    """The actuals routes (included by :func:`hyperplan.server.app.create_app`)."""
    router = APIRouter(prefix=PREFIX, tags=["actuals"])

    @router.get(
        "/{workspace}/actuals",
        response_model=list[ImportRecord],
        summary="The imported FOCUS exports (oldest first)",
        responses=AUTH,
    )
    def imports(who: Viewer, ledger: Ledgers) -> Any:
        """One record per imported file, as ``hyperplan actuals import`` stored it."""
        from hyperplan.ledger.actuals_store import list_imports

        return list_imports(ledger, who.workspace)

    @router.post(
        "/{workspace}/actuals/imports",
        response_model=ImportOut,
        status_code=201,
        summary="Upload one FOCUS export and store it (planner)",
        responses={
            **AUTH,
            200: {"model": ImportOut, "description": "the same bytes were imported before"},
            409: ErrorBodyRef,
            413: ErrorBodyRef,
            415: ErrorBodyRef,
        },
        openapi_extra=UPLOAD_REQUEST,
    )
    async def upload(
        request: Request,
        who: Planner,
        ledger: Ledgers,
        filename: Annotated[
            str | None,
            Query(
                max_length=200,
                description="the file's name (.csv, .csv.gz or .parquet): stored, and used in "
                "located problems (or send header X-Filename)",
            ),
        ] = None,
        x_filename: Annotated[
            str | None, Header(alias="X-Filename", description="the file's name (or ?filename=)")
        ] = None,
        mapping: Annotated[
            str | None,
            Query(
                max_length=MAPPING_MAX_BYTES,
                description="a user mapping for offers the export does not name: the text of "
                "the CSV ``column,value,instance_type`` that ``hyperplan actuals import "
                f"--mapping`` reads (URL-encoded; at most {MAPPING_MAX_BYTES:,} bytes); its "
                f"problems are located in {MAPPING_FILE!r} (line, field)",
            ),
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Any:
        """Like ``hyperplan actuals import FILE [--mapping MAP]``: the bytes' SHA-256 already
        held means ``skipped`` (200); else the file is read and stored (201), all or nothing: a
        bad file is 422 with located problems (the file name as given, row, column) and stores
        nothing; so is a bad ``mapping`` (checked before the body is read). With an
        ``Idempotency-Key``, a retry gets the first answer (``Idempotent-Replayed``)."""
        name = _checked_name(filename if filename is not None else x_filename)
        _check_content_type(name, request.headers.get("content-type"))
        folder = Path(tempfile.mkdtemp(prefix="hyperplan-upload-"))  # mode 0700: private
        try:
            rules = None
            head = b"actuals-import\n" + name.encode("utf-8") + b"\n"
            if mapping is not None:
                rules = await run_in_threadpool(_mapping, mapping, folder)
                head += b"mapping\n" + mapping.encode("utf-8") + b"\n"
            path = folder / name
            digest = hashlib.sha256(head)
            with path.open("wb") as fh:
                async for chunk in request.stream():  # the body limit raises 413 here
                    if chunk:
                        digest.update(chunk)
                        await run_in_threadpool(fh.write, chunk)
            return await run_in_threadpool(
                _import, ledger, who, path, name, digest.hexdigest(), idempotency_key, rules
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @router.get(
        "/{workspace}/actuals/report",
        response_model=ActualsReport,
        summary="Utilisation, coverage, plan vs actual and burn-down of the stored actuals",
        responses={**AUTH, 404: ErrorBodyRef, 409: ErrorBodyRef},
    )
    def report(
        who: Viewer,
        ledger: Ledgers,
        plan_run: Annotated[
            int | None,
            Query(ge=1, le=2**62, description="a plan run of this workspace for plan vs actual"),
        ] = None,
    ) -> Any:
        """The same document as ``hyperplan actuals report --json`` without bills (the
        ledger's actuals, take-or-pay contracts and commitments); with ``plan_run``, also plan
        vs actual and the plan's remaining spend in the burn-down forecast. 404 when the
        workspace holds no imported actuals or no such plan run."""
        return JSONResponse(_report(ledger, who.workspace, plan_run))

    @router.post(
        "/{workspace}/actuals/replan",
        response_model=JobOut,
        status_code=201,
        summary="Queue a replan of the remaining horizon (a job; planner)",
        responses={
            **AUTH,
            200: {"model": JobOut, "description": "the job of an earlier request with this key"},
            404: ErrorBodyRef,
            409: ErrorBodyRef,
        },
    )
    def replan(
        body: ReplanRequest,
        response: Response,
        who: Planner,
        ledger: Ledgers,
        idempotency_key: IdempotencyKey = None,
    ) -> Any:
        """Like ``hyperplan replan SCENARIO --as-of YYYY-MM``, as a job of kind ``replan``:
        checked now (a bad scenario or as-of month: 422 located; an unknown scenario version:
        404; no adopted plan in the workspace: 409), then queued (201; the same
        ``Idempotency-Key`` and body again: the same job, 200). Follow it with ``GET
        .../jobs/{id}``; its result is the document of ``hyperplan replan --json``."""
        job, created = queue_replan(ledger, who, body, idempotency_key)
        if not created:
            response.status_code = 200
        return job

    return router


def queue_replan(
    ledger: Ledger, who: Principal, body: ReplanRequest, key: str | None
) -> tuple[dict[str, Any], bool]:
    """Check a replan request (see the route) and queue its job; the job and whether it is new
    (the API's route and the console's *Run replan*). Raises :class:`InputError` (located) and
    :class:`ApiError` (404 scenario version, 409 no adopted plan or a reused key)."""
    from hyperplan.actuals.replan import adopted_plan
    from hyperplan.ledger import api
    from hyperplan.server.worker import check_input, check_params

    if key is not None and not access.IDEMPOTENCY_KEY_RE.match(key):
        raise ApiError(422, "invalid_request", "Idempotency-Key: 1-200 printable ASCII characters")
    if (body.scenario_yaml is None) == (body.scenario_version_id is None):
        message = "give one of scenario_yaml or scenario_version_id"
        raise ApiError(422, "invalid_request", message, [Problem(message, path="scenario_yaml")])
    params = {"as_of": body.as_of, "integer": body.integer, "outages": body.outages}
    try:
        params = check_params("replan", params)
    except InputError as exc:
        raise InputError(
            [replace(p, path=p.path.removeprefix("params.")) for p in exc.problems]
        ) from None
    if body.scenario_version_id is not None:
        text = str(api.get_scenario(ledger, body.scenario_version_id, who.workspace)["yaml"])
    else:
        assert body.scenario_yaml is not None
        text = body.scenario_yaml
    try:
        with tempfile.TemporaryDirectory(prefix="hyperplan-scenario-") as empty:
            check_input("replan", text, params, base_dir=empty)
    except InputError as exc:
        raise InputError(
            [replace(p, path=p.path.removeprefix("params.")) for p in exc.problems]
        ) from None
    try:
        adopted_plan(ledger, who.workspace)
    except InputError as exc:
        raise ApiError(409, "conflict", str(exc.problems[0].message)) from None
    try:
        return jobs.enqueue(
            ledger,
            who.workspace,
            "replan",
            text,
            params=params,
            author=str(who.user),
            idempotency_key=key,
            max_attempts=body.max_attempts,
            time_limit_seconds=body.time_limit_seconds,
        )
    except jobs.JobConflict as exc:
        raise ApiError(409, "idempotency_conflict", str(exc)) from None


def _checked_name(name: str | None) -> str:
    """The client's file name, or a 422 saying what a name must be."""
    where = "query.filename"
    if name is None or not name.strip():
        raise _bad_name("a file name is needed: ?filename=bill.csv or header X-Filename", where)
    if not NAME_RE.match(name) or name.strip(".") == "":
        raise _bad_name("a file name without folders or control characters, 1-200 long", where)
    if _kind(name) is None:
        raise _bad_name("expected a .csv, .csv.gz or .parquet FOCUS export", where, file=name)
    return name


def _bad_name(message: str, path: str, file: str | None = None) -> ApiError:
    problems = [Problem(message, file=file or "query", path=path)]
    return ApiError(422, "invalid_request", message, problems)


def _kind(name: str) -> str | None:
    lower = name.lower()
    return next((k for k in KINDS if lower.endswith(k)), None)


def _check_content_type(name: str, header: str | None) -> None:
    """415 unless the Content-Type is one accepted for the file name's suffix."""
    kind = _kind(name)
    assert kind is not None
    media = (header or "").split(";")[0].strip().lower()
    if media not in KINDS[kind]:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"{name}: Content-Type {media or '(none)'!r} is not one of {', '.join(KINDS[kind])} "
            f"(for a {kind} file)",
        )


def _mapping(text: str, folder: Path) -> Any:
    """The user mapping sent with an upload, read as ``hyperplan actuals import --mapping``
    reads its file; 422 with its problems located in :data:`MAPPING_FILE` (line, field)."""
    from hyperplan.actuals.mapping import load_mapping

    size = len(text.encode("utf-8"))
    if size > MAPPING_MAX_BYTES:
        message = f"a mapping is at most {MAPPING_MAX_BYTES:,} bytes of UTF-8; found {size:,}"
        raise ApiError(422, "invalid_request", message, [Problem(message, path=MAPPING_FILE)])
    path = folder / "mapping.csv"
    path.write_text(text, encoding="utf-8")
    try:
        return load_mapping(path)
    except InputError as exc:
        raise InputError(
            [replace(p, file=MAPPING_FILE) if p.file == str(path) else p for p in exc.problems]
        ) from None
    finally:
        path.unlink()


def _import(
    ledger: Ledger,
    who: Principal,
    path: Path,
    name: str,
    digest: str,
    key: str | None,
    mapping: Any = None,
) -> JSONResponse:
    """Store the uploaded file at ``path`` as ``name`` (``mapping``: a user
    :class:`~hyperplan.actuals.mapping.Mapping`); 201 stored, 200 skipped (or replayed)."""
    from hyperplan.actuals.store import ImportResult, import_files

    if key is not None:
        if not access.IDEMPOTENCY_KEY_RE.match(key):
            raise ApiError(
                422, "invalid_request", "Idempotency-Key: 1-200 printable ASCII characters"
            )
        found = access.find_idempotent(ledger, who.workspace, key)
        if found is not None:
            return _replay(found, digest)

    def remember(s: Any, workspace_id: int, result: ImportResult) -> None:
        if key is not None:
            body = _plain(result.to_json())
            access.record_idempotent(s, workspace_id, key, digest, 201, body, who.user)

    def run() -> ImportResult:
        return import_files(
            [path],
            ledger,
            workspace=who.workspace,
            author=who.user,
            labels={path: name},
            mapping=mapping,
            before_commit=remember,
        )

    try:
        result = run()
    except access.IdempotencyClash:
        found = access.find_idempotent(ledger, who.workspace, key) if key is not None else None
        if found is not None:
            return _replay(found, digest)
        raise
    except LedgerUnavailable:
        raise
    except LedgerError:
        # the same bytes stored meanwhile by another request: now they are skipped
        result = run()
    return JSONResponse(_plain(result.to_json()), status_code=201 if result.stored else 200)


def _plain(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as the CLI prints it (``json.dumps(..., default=str)``), as plain JSON values."""
    return json.loads(json.dumps(doc, default=str))


def _report(ledger: Ledger, workspace: str, plan_run: int | None) -> dict[str, Any]:
    """The report document of ``workspace``'s stored actuals (see the route)."""
    from hyperplan.actuals.collect import from_ledger, to_json
    from hyperplan.ledger.actuals_store import list_imports

    plan = _plan_of_run(ledger, workspace, plan_run) if plan_run is not None else None
    if not list_imports(ledger, workspace):
        raise ApiError(
            404,
            "not_found",
            f"workspace {workspace!r} holds no imported actuals: upload a FOCUS export with "
            f"POST {PREFIX}/{workspace}/actuals/imports (or hyperplan actuals import) first",
        )
    frame, tables, _notes = from_ledger(ledger, workspace, plan=plan)
    try:
        return _plain(to_json(tables, frame))
    finally:
        frame.con.close()


def _plan_of_run(ledger: Ledger, workspace: str, plan_run: int) -> Any:
    """The Plan of one of the workspace's plan runs (404 when there is none)."""
    from hyperplan.ledger import jobs
    from hyperplan.plan.artifact import plan_from_dict

    try:
        text = jobs.plan_run_json(ledger, plan_run, workspace)
    except jobs.JobNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    try:
        return plan_from_dict(json.loads(text), file=f"plan run {plan_run}")
    except InputError as exc:  # a plan stored by an older version that this one cannot read
        raise ApiError(409, "conflict", str(exc), exc.problems) from None
