"""The console's pages: a small FastAPI app mounted at ``/console`` by :func:`console_app`.

Every page is server-rendered from a Jinja2 template (autoescaped) over the same library and
ledger functions the API routes call; ``static/console.js`` adds progress polling, file upload
into the editor and jumping to a located problem. A page needs a signed-in session whose token
grants the page's role in the workspace of its path (viewer to read, planner to store, validate
and run, approver to approve or reject an adoption); anything else is a 403 page, and the
buttons a role may not use are not drawn. POSTs take an urlencoded form with the session's
CSRF token; a POST from another origin is refused.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import jinja2
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

import hyperplan.server.console.views as views
from hyperplan.errors import HyperplanError, InputError, Problem
from hyperplan.ledger import api, jobs
from hyperplan.ledger.access import NAME_RE, ROLES, authenticate
from hyperplan.ledger.db import Ledger
from hyperplan.server.auth import Principal
from hyperplan.server.console.sessions import COOKIE, SessionStore, same_secret

MOUNT = "/console"
"""Where :func:`console_app` is mounted on the API app."""
MAX_FORM_BYTES = 5 * 2**20
"""Largest form accepted, bytes (a scenario is a few kB; frontier-2030 is 20 kB)."""
TOKEN_MAX = 200
"""Longest API token accepted at sign-in, characters."""
SCENARIO_NAME = "scenario.yaml"
"""How the editor's text is named in located problems unless the form names a file."""
STATIC = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
}
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""Content-Security-Policy of the console's pages: no inline script, no other origin."""
REPORT_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""Content-Security-Policy of a served report: it is self-contained, so it may load nothing."""
JOB_KINDS = ("plan", "compare", "replan")
"""Jobs the editor starts (simulations start from a finished plan)."""
ACTIVE = ("queued", "running")


class NeedSignIn(Exception):
    """No live session (or its token was revoked): go to the sign-in page."""


class Refused(Exception):
    """A page or action the session may not use: HTTP ``status`` with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ----------------------------------------------------------------------------------------------
# templates and responses
# ----------------------------------------------------------------------------------------------


@functools.cache
def environment() -> jinja2.Environment:
    """The console's Jinja2 environment (package templates, autoescaped, strict)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hyperplan.server.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["roles"] = ROLES
    return env


def _headers(csp: str = PAGE_CSP) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered as an HTML answer with the console's security headers."""
    context.setdefault("who", None)
    context.setdefault("csrf", "")
    context.setdefault("active", "")
    context.setdefault("flash", None)
    html = environment().get_template(template).render(mount=MOUNT, **context)
    return HTMLResponse(html, status_code=status_code, headers=_headers())


@functools.cache
def static_bytes(name: str) -> bytes:
    """A file of the console's ``static`` folder, or plotly.js from the installed plotly."""
    if name == "plotly.min.js":
        from hyperplan.report.html import get_plotlyjs

        return get_plotlyjs().encode("utf-8")
    from importlib import resources

    return resources.files("hyperplan.server.console").joinpath("static", name).read_bytes()


# ----------------------------------------------------------------------------------------------
# sessions and roles
# ----------------------------------------------------------------------------------------------


def _ledger(request: Request) -> Ledger:
    return _ledger_of(request.app.state.parent)


def _ledger_of(parent: FastAPI) -> Ledger:
    ledger = getattr(parent.state, "ledger", None)
    if ledger is None:
        raise Refused(503, "the server is starting or stopping; retry later")
    return ledger


def _store(request: Request) -> SessionStore:
    return request.app.state.sessions  # type: ignore[no-any-return]


def _who(request: Request, workspace: str, min_role: str) -> tuple[Principal, str]:
    """The session's principal in ``workspace`` holding ``min_role`` or above, and the session's
    CSRF token. Raises NeedSignIn or Refused (403)."""
    session = _store(request).get(request.cookies.get(COOKIE))
    if session is None:  # none, expired, or its token revoked
        raise NeedSignIn
    grant = session.grant
    if grant.workspace != workspace or not NAME_RE.match(workspace):
        raise Refused(403, f"user {grant.user!r}: your token does not open workspace {workspace!r}")
    if ROLES.index(grant.role) < ROLES.index(min_role):
        raise Refused(
            403,
            f"user {grant.user!r} is {grant.role} in workspace {workspace!r}; this needs "
            f"{min_role} or above",
        )
    return Principal(user=grant.user, workspace=workspace, role=grant.role), session.csrf


def _can(who: Principal) -> dict[str, bool]:
    return {role: who.at_least(role) for role in ROLES}


def _ctx(who: Principal, csrf: str, active: str, **more: Any) -> dict[str, Any]:
    return {"who": who, "csrf": csrf, "active": active, "can": _can(who), **more}


def _same_origin(request: Request) -> bool:
    """A POST's Origin (or Referer) names this server, or the browser sent neither."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "")


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body as a dict (the last value of a repeated field)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise Refused(415, "send the form as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Refused(413, f"the form is above the limit of {MAX_FORM_BYTES:,} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the form is not UTF-8 text") from None
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


async def _post(
    request: Request, workspace: str, min_role: str
) -> tuple[Principal, str, dict[str, str]]:
    """A POST's principal, CSRF token and form, after the origin and CSRF checks."""
    if not _same_origin(request):
        raise Refused(403, "a form from another site was refused")
    who, csrf = await run_in_threadpool(_who, request, workspace, min_role)
    form = await _form(request)
    if not same_secret(form.get("csrf"), csrf):
        raise Refused(403, "the form's CSRF token is missing or stale: reload the page")
    return who, csrf, form


def _redirect(url: str, flash: str | None = None) -> RedirectResponse:
    if flash:
        url += ("&" if "?" in url else "?") + "flash=" + quote(flash)
    return RedirectResponse(url, status_code=303, headers=_headers())


def _int(form: dict[str, str], name: str, default: int | None = None, *, low: int = 0) -> int:
    raw = form.get(name, "")
    if raw == "" and default is not None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError([Problem(f"expected a whole number, found {raw!r}", path=name)]) from None
    if value < low:
        raise InputError([Problem(f"expected a number ≥ {low}, found {value}", path=name)])
    return value


def _flash(request: Request) -> str | None:
    text = request.query_params.get("flash")
    return text[:300] if text else None


# ----------------------------------------------------------------------------------------------
# the app
# ----------------------------------------------------------------------------------------------


def console_app(parent: FastAPI) -> FastAPI:
    """The console as an app to mount on ``parent`` at :data:`MOUNT` (it reads ``parent``'s
    ledger): ``app.mount(MOUNT, console_app(app))``."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.parent = parent
    app.state.sessions = SessionStore(functools.partial(_ledger_of, parent))
    _install_errors(app)
    _routes(app)
    return app


def _error_status(exc: HyperplanError) -> tuple[int, str]:
    from hyperplan.server.errors import from_hyperplan

    if isinstance(exc, jobs.JobNotFound):
        return 404, str(exc)
    if isinstance(exc, jobs.JobError | jobs.JobConflict):
        return 409, str(exc)
    e = from_hyperplan(exc)
    return e.status, e.message


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(NeedSignIn)
    async def _sign_in(request: Request, exc: NeedSignIn) -> Response:
        if request.method == "GET" and not request.url.path.endswith("/status"):
            nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return _redirect(f"{MOUNT}/signin?next={quote(nxt)}")
        return JSONResponse({"error": "unauthenticated"}, status_code=401, headers=_headers())

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return page("error.html.j2", exc.status, status=exc.status, message=exc.message)

    @app.exception_handler(HyperplanError)
    async def _hyperplan(request: Request, exc: HyperplanError) -> Response:
        status, message = _error_status(exc)
        problems = exc.problems if isinstance(exc, InputError) else []
        return page("error.html.j2", status, status=status, message=message, problems=problems)

    from sqlalchemy.exc import DBAPIError

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        from hyperplan.server.errors import DATABASE_UNAVAILABLE, is_connection_error

        if not is_connection_error(exc):
            raise exc  # a bug: the server's CatchAll logs it and answers 500
        return page("error.html.j2", 503, status=503, message=DATABASE_UNAVAILABLE)

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        return page("error.html.j2", exc.status_code, status=exc.status_code, message=message)

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        where = ", ".join(".".join(map(str, e.get("loc", ()))) for e in exc.errors())
        return page("error.html.j2", 404, status=404, message=f"no such page ({where})")


def _routes(app: FastAPI) -> None:
    get = app.get
    post = app.post

    # ------------------------------------------------------------------ sign-in, static
    @get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        session = _store(request).get(request.cookies.get(COOKIE))
        grant = session.grant if session else None
        if grant is None:
            return _redirect(f"{MOUNT}/signin")
        return _redirect(f"{MOUNT}/{grant.workspace}/portfolio")

    @get("/signin", include_in_schema=False)
    def signin_page(request: Request, next: str = "") -> Response:
        return page("signin.html.j2", next=_safe_next(next), error=None)

    @post("/signin", include_in_schema=False)
    async def signin(request: Request) -> Response:
        if not _same_origin(request):
            raise Refused(403, "a form from another site was refused")
        form = await _form(request)
        token = form.get("token", "").strip()
        nxt = _safe_next(form.get("next", ""))
        grant = None
        if token and len(token) <= TOKEN_MAX:
            grant = await run_in_threadpool(authenticate, _ledger(request), token)
        if grant is None:
            return page(
                "signin.html.j2",
                401,
                next=nxt,
                error="That token is unknown or revoked. Paste a token from "
                "`hyperplan token create`.",
            )
        sid = await run_in_threadpool(_store(request).create, grant)
        target = nxt if nxt.startswith(f"{MOUNT}/{grant.workspace}/") else None
        response = _redirect(target or f"{MOUNT}/{grant.workspace}/portfolio")
        response.set_cookie(
            COOKIE,
            sid,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=MOUNT,
        )
        return response

    @post("/signout", include_in_schema=False)
    async def signout(request: Request) -> Response:
        if not _same_origin(request):
            raise Refused(403, "a form from another site was refused")
        store = _store(request)
        session = await run_in_threadpool(store.get, request.cookies.get(COOKIE))
        form = await _form(request)
        if session is not None and not same_secret(form.get("csrf"), session.csrf):
            raise Refused(403, "the form's CSRF token is missing or stale: reload the page")
        await run_in_threadpool(store.drop, request.cookies.get(COOKIE))
        response = _redirect(f"{MOUNT}/signin", "signed out")
        response.delete_cookie(COOKIE, path=MOUNT, httponly=True, samesite="strict")
        return response

    @get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        types = {**STATIC, "plotly.min.js": "text/javascript; charset=utf-8"}
        if name not in types:
            raise Refused(404, f"no static file {name!r}")
        headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
        return Response(static_bytes(name), media_type=types[name], headers=headers)

    # ------------------------------------------------------------------ portfolio, contracts
    @get("/{workspace}/portfolio", include_in_schema=False)
    def portfolio(request: Request, workspace: str) -> Response:
        who, csrf = _who(request, workspace, "viewer")
        data = views.portfolio(_ledger(request), workspace)
        return page("portfolio.html.j2", **_ctx(who, csrf, "portfolio", p=data))

    @get("/{workspace}/contracts", include_in_schema=False)
    def contracts(request: Request, workspace: str) -> Response:
        who, csrf = _who(request, workspace, "viewer")
        data = views.contracts(_ledger(request), workspace)
        return page("contracts.html.j2", **_ctx(who, csrf, "contracts", c=data))

    # ------------------------------------------------------------------ scenarios and runs
    def runs_page(
        request: Request,
        who: Principal,
        csrf: str,
        *,
        text: str = "",
        filename: str = SCENARIO_NAME,
        problems: list[Problem] | None = None,
        status: int = 200,
        flash: str | None = None,
        valid: str | None = None,
    ) -> Response:
        ledger = _ledger(request)
        all_jobs = jobs.list_jobs(ledger, who.workspace, limit=100)
        bad_lines = {p.line for p in problems or [] if p.line is not None}
        lines = [
            {"n": i, "text": line, "bad": i in bad_lines}
            for i, line in enumerate(text.splitlines(), start=1)
        ]
        return page(
            "runs.html.j2",
            status,
            **_ctx(
                who,
                csrf,
                "runs",
                jobs=all_jobs,
                plans=[
                    j
                    for j in all_jobs
                    if j["kind"] in ("plan", "replan") and j["state"] == "succeeded"
                ],
                scenarios=api.list_scenarios(ledger, who.workspace),
                text=text,
                filename=filename,
                problems=problems or [],
                lines=lines if problems else [],
                flash=flash,
                valid=valid,
                hints=views.field_hints_json(),
            ),
        )

    @get("/{workspace}/runs", include_in_schema=False)
    def runs(request: Request, workspace: str, scenario: int | None = None) -> Response:
        who, csrf = _who(request, workspace, "viewer")
        text = ""
        filename = SCENARIO_NAME
        if scenario is not None:
            found = api.get_scenario(_ledger(request), scenario, workspace)
            text, filename = found["yaml"], f"{found['name']}.yaml"
        return runs_page(request, who, csrf, text=text, filename=filename, flash=_flash(request))

    @post("/{workspace}/runs", include_in_schema=False)
    async def runs_post(request: Request, workspace: str) -> Response:
        who, csrf, form = await _post(request, workspace, "planner")
        text = form.get("scenario", "").replace("\r\n", "\n")
        filename = (form.get("filename") or SCENARIO_NAME).strip()[:200] or SCENARIO_NAME
        if any(ord(ch) < 32 for ch in filename):
            filename = SCENARIO_NAME
        action = form.get("action", "validate")
        if action not in ("validate", "store", *JOB_KINDS):
            raise Refused(400, f"unknown action {action!r}")

        def work() -> Response:
            from hyperplan.server.routes import _validate_scenario
            from hyperplan.server.worker import check_input, check_params

            ledger = _ledger(request)
            try:
                text_ok, name = _validate_scenario(text.encode("utf-8"), filename)
            except InputError as exc:
                from hyperplan.scenario.load import sort_problems

                return runs_page(
                    request,
                    who,
                    csrf,
                    text=text,
                    filename=filename,
                    problems=sort_problems(exc.problems),
                )
            if action == "validate":
                return runs_page(request, who, csrf, text=text, filename=filename, valid=name)
            if action == "store":
                record, created = api.store_scenario(
                    ledger, text_ok, name=name, workspace=workspace, author=who.user
                )
                verb = "stored as" if created else "already stored as"
                return _redirect(
                    f"{MOUNT}/{workspace}/runs?scenario={record['id']}",
                    f"scenario {name} {verb} version {record['id']}",
                )
            if action == "replan":
                try:
                    job, as_of = _queue_console_replan(ledger, who, text_ok, form)
                except InputError as exc:
                    from hyperplan.scenario.load import sort_problems

                    problems = sort_problems(exc.problems)
                    return runs_page(
                        request, who, csrf, text=text, filename=filename, problems=problems
                    )
                where = f"{MOUNT}/{workspace}/runs/{job['id']}"
                return _redirect(where, f"replan job queued as of {as_of}")
            params: dict[str, Any] = {}
            if action == "plan" and form.get("from_ledger") == "on":
                params["from_ledger"] = True
            if action == "compare" and form.get("strategies", "").strip():
                params["strategies"] = [
                    s.strip() for s in form["strategies"].split(",") if s.strip()
                ]
            params = check_params(action, params)
            check_input(action, text_ok, params)
            job, _ = jobs.enqueue(
                ledger, workspace, action, text_ok, params=params, author=who.user
            )
            return _redirect(f"{MOUNT}/{workspace}/runs/{job['id']}", f"{action} job queued")

        return await run_in_threadpool(work)

    @get("/{workspace}/runs/{job_id}", include_in_schema=False)
    def run(request: Request, workspace: str, job_id: int) -> Response:
        who, csrf = _who(request, workspace, "viewer")
        ledger = _ledger(request)
        job = jobs.get(ledger, job_id, workspace)
        table = replan = None
        if job["kind"] == "compare" and job["state"] == "succeeded":
            table = _compare_table(jobs.result(ledger, job_id, workspace)[1])
        if job["kind"] == "replan" and job["state"] == "succeeded":
            replan = views.job_plan_and_replan(ledger, job_id, workspace)[2]
        requested = None
        if job.get("plan_run_id") is not None:
            requested = views.request_state(ledger, workspace).get(job["plan_run_id"])
        return page(
            "run.html.j2",
            **_ctx(
                who,
                csrf,
                "runs",
                job=job,
                table=table,
                replan=replan,
                requested=requested,
                active_states=ACTIVE,
                flash=_flash(request),
                progress=_progress(job),
            ),
        )

    @get("/{workspace}/runs/{job_id}/status", include_in_schema=False)
    def run_status(request: Request, workspace: str, job_id: int) -> Response:
        _who(request, workspace, "viewer")
        job = jobs.get(_ledger(request), job_id, workspace)
        body = {
            "id": job["id"],
            "state": job["state"],
            "progress": job["progress"],
            "error": job["error"],
            "text": _progress(job)["text"],
            "value": _progress(job)["value"],
            "max": _progress(job)["max"],
        }
        return JSONResponse(body, headers=_headers())

    @get("/{workspace}/runs/{job_id}/report", include_in_schema=False)
    def run_report(request: Request, workspace: str, job_id: int) -> Response:
        _who(request, workspace, "viewer")
        from hyperplan.report.html import render_report

        _, plan, replan = views.job_plan_and_replan(_ledger(request), job_id, workspace)
        return HTMLResponse(render_report(plan, replan=replan), headers=_headers(REPORT_CSP))

    @get("/{workspace}/runs/{job_id}/result", include_in_schema=False)
    def run_result(request: Request, workspace: str, job_id: int) -> Response:
        _who(request, workspace, "viewer")
        job, text = jobs.result(_ledger(request), job_id, workspace)
        name = {"plan": "plan.json", "simulate": "sim.json", "replan": "replan.json"}.get(
            job["kind"], "compare.json"
        )
        headers = {**_headers(), "Content-Disposition": f'attachment; filename="{job_id}-{name}"'}
        return Response(text, media_type="application/json", headers=headers)

    @post("/{workspace}/runs/{job_id}/cancel", include_in_schema=False)
    async def run_cancel(request: Request, workspace: str, job_id: int) -> Response:
        await _post(request, workspace, "planner")
        await run_in_threadpool(jobs.request_cancel, _ledger(request), job_id, workspace)
        return _redirect(f"{MOUNT}/{workspace}/runs/{job_id}", "cancel requested")

    @post("/{workspace}/runs/{job_id}/simulate", include_in_schema=False)
    async def run_simulate(request: Request, workspace: str, job_id: int) -> Response:
        who, _, form = await _post(request, workspace, "planner")

        def work() -> Response:
            from hyperplan.server.worker import check_params

            ledger = _ledger(request)
            job = jobs.get(ledger, job_id, workspace)
            if job["plan_run_id"] is None:
                raise jobs.JobError(f"job {job_id} has no plan to simulate")
            params = check_params(
                "simulate",
                {"trials": _int(form, "trials", 200, low=1), "seed": _int(form, "seed", 0)},
            )
            text = jobs.plan_run_json(ledger, job["plan_run_id"], workspace)
            new, _ = jobs.enqueue(
                ledger, workspace, "simulate", text, params=params, author=who.user
            )
            return _redirect(f"{MOUNT}/{workspace}/runs/{new['id']}", "simulate job queued")

        return await run_in_threadpool(work)

    @post("/{workspace}/runs/{job_id}/request-adoption", include_in_schema=False)
    async def run_request(request: Request, workspace: str, job_id: int) -> Response:
        who, _, form = await _post(request, workspace, "planner")
        run_id = await run_in_threadpool(
            views.request_adoption,
            _ledger(request),
            workspace,
            job_id,
            who.user,
            form.get("note", ""),
        )
        return _redirect(
            f"{MOUNT}/{workspace}/adoptions/{run_id}", "adoption requested: an approver decides"
        )

    @get("/{workspace}/compare", include_in_schema=False)
    def compare(request: Request, workspace: str, a: int, b: int) -> Response:
        who, csrf = _who(request, workspace, "viewer")
        ledger = _ledger(request)
        ja, pa = views.job_plan(ledger, a, workspace)
        jb, pb = views.job_plan(ledger, b, workspace)
        data = views.compare_plans(pa, pb)
        return page("compare.html.j2", **_ctx(who, csrf, "runs", a=ja, b=jb, d=data))

    # ------------------------------------------------------------------ adoption, ledger
    @get("/{workspace}/adoptions", include_in_schema=False)
    def adoptions(request: Request, workspace: str) -> Response:
        who, csrf = _who(request, workspace, "viewer")
        ledger = _ledger(request)
        return page(
            "adoptions.html.j2",
            **_ctx(
                who,
                csrf,
                "adoptions",
                pending=views.pending_requests(ledger, workspace),
                history=views.history(ledger, workspace),
                flash=_flash(request),
            ),
        )

    @get("/{workspace}/adoptions/{plan_run_id}", include_in_schema=False)
    def adoption(request: Request, workspace: str, plan_run_id: int) -> Response:
        who, csrf = _who(request, workspace, "viewer")
        ledger = _ledger(request)
        from hyperplan.server.routes import preview_body

        plan = views.plan_of_run(ledger, workspace, plan_run_id)
        preview = preview_body(api.preview(ledger, plan, workspace))
        event = views.request_state(ledger, workspace).get(plan_run_id)
        return page(
            "adoption.html.j2",
            **_ctx(
                who,
                csrf,
                "adoptions",
                run_id=plan_run_id,
                name=plan.scenario_name,
                pv=preview,
                event=event,
                pending=event is not None and event["action"] == views.REQUEST,
                flash=_flash(request),
                usd=_usd,
            ),
        )

    @post("/{workspace}/adoptions/{plan_run_id}/approve", include_in_schema=False)
    async def approve(request: Request, workspace: str, plan_run_id: int) -> Response:
        who, _, form = await _post(request, workspace, "approver")
        expect = _int(form, "expect_version")
        done = await run_in_threadpool(
            views.approve_request, _ledger(request), workspace, plan_run_id, who.user, expect
        )
        return _redirect(
            f"{MOUNT}/{workspace}/ledger",
            f"adopted: adoption {done.id}, ledger version {done.version}",
        )

    @post("/{workspace}/adoptions/{plan_run_id}/reject", include_in_schema=False)
    async def reject(request: Request, workspace: str, plan_run_id: int) -> Response:
        who, _, form = await _post(request, workspace, "approver")
        await run_in_threadpool(
            views.reject_request,
            _ledger(request),
            workspace,
            plan_run_id,
            who.user,
            form.get("reason", ""),
        )
        return _redirect(f"{MOUNT}/{workspace}/adoptions", "request rejected")

    @get("/{workspace}/ledger", include_in_schema=False)
    def ledger_page(request: Request, workspace: str) -> Response:
        who, csrf = _who(request, workspace, "viewer")
        ledger = _ledger(request)
        rows = api.list_commitments(ledger, workspace, limit=500)
        audit = api.audit_log(ledger, workspace)[-100:][::-1]
        return page(
            "ledger.html.j2",
            **_ctx(
                who,
                csrf,
                "ledger",
                rows=rows,
                audit=audit,
                version=api.ledger_version(ledger, workspace),
                contracts=api.list_contracts(ledger, workspace),
                flash=_flash(request),
                usd=_usd,
                json=_compact_json,
            ),
        )


def _safe_next(nxt: str) -> str:
    """A sign-in's ``next``: a console path of this server only (no open redirect)."""
    if nxt.startswith(f"{MOUNT}/") and not nxt.startswith("//") and "\\" not in nxt:
        return nxt[:500]
    return ""


def _usd(value: float | None) -> str:
    from hyperplan.report import fmt

    return "–" if value is None else fmt.usd(float(value))


def _compact_json(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, default=str)[:400]


def _progress(job: dict[str, Any]) -> dict[str, Any]:
    """A job's progress in words, and as value/max for a progress bar (max None: unknown)."""
    p = job.get("progress") or {}
    state = job["state"]
    if state in ("succeeded", "failed", "cancelled"):
        return {"text": state, "value": 1, "max": 1}
    phase = str(p.get("phase") or state)
    done, total = p.get("trials_done"), p.get("trials")
    if isinstance(done, int | float) and isinstance(total, int | float) and total > 0:
        frac = max(0.0, min(1.0, float(done) / float(total)))
        return {
            "text": f"{phase}: {int(done):,} of {int(total):,} trials",
            "value": round(frac, 4) if math.isfinite(frac) else 0,
            "max": 1,
        }
    return {"text": phase, "value": None, "max": None}


def _queue_console_replan(
    ledger: Ledger, who: Principal, text: str, form: Any
) -> tuple[dict[str, Any], str]:
    """*Run replan*: the scenario as of the form's month, queued as the API's replan route
    queues it; the job and the month. A bad month raises :class:`InputError` (shown with the
    scenario's problems); no adopted plan is a 409 page."""
    from hyperplan.server.errors import ApiError
    from hyperplan.server.routes_actuals import ReplanRequest, queue_replan

    as_of = str(form.get("as_of", "")).strip()[:10]
    try:
        job, _ = queue_replan(ledger, who, ReplanRequest(as_of=as_of, scenario_yaml=text), None)
    except ApiError as exc:
        raise Refused(exc.status, exc.message) from None
    return job, as_of


def _compare_table(text: str) -> dict[str, Any] | None:
    """A comparison job's strategy table (``{"table": ..., "misses": ...}``) as headers and
    rows of text, as the report's strategy section reads it; None when it cannot be read."""
    from hyperplan.actuals.shape import cell
    from hyperplan.report.sections import compare_table

    try:
        data = json.loads(text)
        df = compare_table(data.get("table") if isinstance(data, dict) else None)
    except (json.JSONDecodeError, HyperplanError, ValueError, TypeError, KeyError):
        return None
    if df is None:
        return None
    return {
        "headers": [str(c) for c in df.columns],
        "rows": [[cell(v) for v in r] for r in df.itertuples(index=False)],
    }
