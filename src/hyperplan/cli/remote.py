"""The CLI against a server: where the server is, the token, and one small HTTP client.

``hyperplan adopt``, ``sign``, ``ledger ...``, ``jobs ...``, ``actuals import`` and ``replan``
talk to ``hyperplan serve`` instead of opening a database when a server is named:

1. ``--server URL`` (``http://`` or ``https://``), else
2. the ``server`` of the profile ``--profile NAME`` selects in ``profiles.toml``
   (``$XDG_CONFIG_HOME/hyperplan/profiles.toml``, default ``~/.config/hyperplan/``), else
3. ``$HYPERPLAN_SERVER``.

A profile is a TOML table naming the server and the *environment variable* that holds the
token (never the token itself: the file holds no secret)::

    [team]
    server = "https://hyperplan.internal"
    token_env = "HYPERPLAN_TEAM_TOKEN"   # default HYPERPLAN_TOKEN
    workspace = "team-a"                 # default: the token's workspace

The token comes from that variable (else ``$HYPERPLAN_TOKEN``); it travels only in the
``Authorization`` header and is never printed, logged or written. The workspace is
``--workspace``, else the profile's, else the one the token's user holds a token for.

Answers become the CLI's exit statuses (:mod:`hyperplan.cli.runner`): 422 with located
problems → the same problems and status 2; 401, 403, 404 and a refused move (409) → the
server's message and status 2; a stale ledger (409 ``stale_ledger``) → status 5; a 5xx or a
server that cannot be reached → one clear line and status 1.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hyperplan.errors import HyperplanError, InputError, Problem
from hyperplan.ledger.errors import LedgerError, StaleLedger

if TYPE_CHECKING:
    import httpx

API = "/api/v1"
TOKEN_ENV = "HYPERPLAN_TOKEN"
"""Environment variable holding the API token when no profile names another."""
SERVER_ENV = "HYPERPLAN_SERVER"
"""Environment variable naming the server when neither ``--server`` nor ``--profile`` does."""
TIMEOUT = 60.0
"""Seconds a request may take (connect: :data:`CONNECT_TIMEOUT`)."""
CONNECT_TIMEOUT = 5.0
"""Seconds to open a connection to the server."""
RETRY_SECONDS = 5.0
"""How long a request safe to repeat (a GET, or a POST with an Idempotency-Key) is retried
while the server cannot be reached or answers 503, seconds."""
PROFILE_KEYS = ("server", "token_env", "workspace")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class RemoteError(HyperplanError):
    """The server refused a request or could not be reached (exit status: ``exit_code``)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ----------------------------------------------------------------------------------------------
# Where: --server, --profile, $HYPERPLAN_SERVER
# ----------------------------------------------------------------------------------------------


def profiles_path() -> Path:
    """``$XDG_CONFIG_HOME/hyperplan/profiles.toml`` (default ``~/.config/hyperplan/``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hyperplan" / "profiles.toml"


@dataclass(frozen=True)
class Target:
    """A server to talk to: its base URL, where its token comes from, and the workspace asked
    for (None: the token's)."""

    url: str
    token_env: str
    workspace: str | None


def _profile(name: str) -> dict[str, str]:
    """The profile ``name`` of :func:`profiles_path` (located errors, exit 2)."""
    import tomllib

    path = profiles_path()
    where = str(path)
    if not path.is_file():
        raise InputError(
            [
                Problem(
                    f"no profiles file (asked for profile {name!r})", file=where, path="--profile"
                )
            ]
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem(f"not TOML: {exc}", file=where)]) from None
    table = data.get(name)
    if not isinstance(table, dict):
        known = ", ".join(sorted(k for k, v in data.items() if isinstance(v, dict))) or "none"
        raise InputError(
            [Problem(f"no profile {name!r} (profiles: {known})", file=where, path=name)]
        )
    problems = []
    for key, value in table.items():
        if key == "token":
            problems.append(
                Problem(
                    "a profile holds no token: name the environment variable that holds it "
                    "with token_env",
                    file=where,
                    path=f"{name}.token",
                )
            )
        elif key not in PROFILE_KEYS:
            problems.append(
                Problem(
                    f"unknown key; expected {', '.join(PROFILE_KEYS)}",
                    file=where,
                    path=f"{name}.{key}",
                )
            )
        elif not isinstance(value, str) or not value.strip():
            problems.append(
                Problem("expected a non-empty string", file=where, path=f"{name}.{key}")
            )
    if problems:
        raise InputError(problems)
    return {k: str(v).strip() for k, v in table.items()}


def check_url(url: str, what: str = "--server") -> str:
    """``url`` without a trailing ``/``, if it is an ``http(s)://host[:port][/path]`` URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            [Problem(f"expected an http:// or https:// URL; found {url!r}", path=what)]
        )
    if parts.username or parts.password:
        raise InputError(
            [Problem("the URL may not hold a user or password (the token is the login)", path=what)]
        )
    if parts.query or parts.fragment:
        raise InputError([Problem("the URL may not hold a query or fragment", path=what)])
    return url.strip().rstrip("/")


def target(
    server: str | None, profile: str | None, workspace: str | None, db: str | None = None
) -> Target | None:
    """The server the options and environment name, or None (work on a local database).

    ``--server`` wins over the profile's ``server``, which wins over ``$HYPERPLAN_SERVER``;
    ``--db`` with a server is refused (exit 2): the two name different ledgers.
    """
    chosen = _profile(profile) if profile else {}
    where = "--server"
    url = server
    if url is None and "server" in chosen:
        url, where = chosen["server"], f"{profiles_path()}: {profile}.server"
    if url is None and os.environ.get(SERVER_ENV, "").strip():
        url, where = os.environ[SERVER_ENV], f"${SERVER_ENV}"
    if url is None:
        if profile:
            raise InputError(
                [Problem(f"profile {profile!r} names no server", file=str(profiles_path()))]
            )
        return None
    if db is not None:
        raise InputError(
            [
                Problem(
                    f"--db names a local ledger, but a server is named too ({where})", path="--db"
                )
            ]
        )
    return Target(
        url=check_url(url, where),
        token_env=chosen.get("token_env", TOKEN_ENV),
        workspace=workspace if workspace is not None else chosen.get("workspace"),
    )


# ----------------------------------------------------------------------------------------------
# The client
# ----------------------------------------------------------------------------------------------


def _message(response: httpx.Response) -> tuple[str, str, list[Problem]]:
    """The error code, message and located problems of an error answer (any body)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip().splitlines()
        return "http_error", (text[0][:300] if text else response.reason_phrase), []
    problems = []
    for p in body.get("problems") or []:
        if isinstance(p, dict) and p.get("message"):
            problems.append(
                Problem(
                    str(p["message"]),
                    file=p.get("file"),
                    line=p.get("line"),
                    column=p.get("column"),
                    path=str(p.get("path") or ""),
                )
            )
    message = body.get("message")
    if message is None:  # a FastAPI default body: {"detail": ...}
        message = body.get("detail")
    return str(body.get("error") or "http_error"), str(message or response.reason_phrase), problems


class Remote:
    """A client of one hyperplan server for one workspace (over httpx, with timeouts).

    Requests safe to repeat (GET; POST with an Idempotency-Key) are retried for up to
    :data:`RETRY_SECONDS` while the server cannot be reached or answers 503.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - httpx is a dependency of the server extra
            raise HyperplanError(
                "talking to a server needs httpx: pip install 'hyperplan[client]'"
            ) from None
        self.url = url
        self.workspace = ""
        host = urlsplit(url).hostname or ""
        self.plain_http_remote = url.startswith("http://") and host not in LOOPBACK
        self._client = httpx.Client(
            base_url=url + API,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "hyperplan-cli"},
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
            transport=transport,
            follow_redirects=False,
        )

    @classmethod
    def connect(cls, where: Target, **kwargs: Any) -> Remote:
        """A client of ``where`` with its token, its workspace resolved (one request when the
        workspace is not named: the token's user must hold a token for exactly one)."""
        token = os.environ.get(where.token_env, "").strip()
        if not token:
            raise InputError(
                [
                    Problem(
                        f"no API token: set ${where.token_env} (from `hyperplan token create`)",
                        path=f"${where.token_env}",
                    )
                ]
            )
        remote = cls(where.url, token, **kwargs)
        if remote.plain_http_remote:
            import hyperplan.cli.term as term

            term.warn(f"{where.url} is plain http: the token travels unencrypted")
        if where.workspace is not None:
            remote.workspace = where.workspace
            return remote
        try:
            held = remote.get("/workspaces").json()
        except BaseException:
            remote.close()
            raise
        names = sorted(str(w["workspace"]) for w in held)
        if len(names) != 1:
            remote.close()
            raise InputError(
                [
                    Problem(
                        f"the token's user holds tokens for {len(names)} workspaces "
                        f"({', '.join(names) or 'none'}); name one with --workspace",
                        path="--workspace",
                    )
                ]
            )
        remote.workspace = names[0]
        return remote

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def ws(self, path: str = "") -> str:
        """``/{workspace}{path}``."""
        from urllib.parse import quote

        return f"/{quote(self.workspace, safe='')}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotency_key: str | None = None,
        retry: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request; return a 2xx answer or raise the error it means (see the module).

        ``retry`` (default: GET, or a POST with ``idempotency_key``) repeats it while the
        server is unreachable or answers 503, for up to :data:`RETRY_SECONDS`."""
        import httpx

        headers = dict(kwargs.pop("headers", None) or {})
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if retry is None:
            retry = method == "GET" or idempotency_key is not None
        end = time.monotonic() + (RETRY_SECONDS if retry else 0.0)
        pause = 0.2
        while True:
            try:
                response = self._client.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                if time.monotonic() < end:
                    time.sleep(pause)
                    pause = min(2 * pause, 2.0)
                    continue
                raise RemoteError(
                    f"cannot reach the server at {self.url}: {type(exc).__name__}"
                    + (f" ({exc})" if str(exc) else "")
                ) from None
            if response.status_code == 503 and time.monotonic() < end:
                time.sleep(pause)
                pause = min(2 * pause, 2.0)
                continue
            break
        if response.is_success:
            return response
        raise self.error(response)

    def error(self, response: httpx.Response) -> HyperplanError:
        """The error an answer means (status → exit status, as the module says)."""
        status = response.status_code
        code, message, problems = _message(response)
        if status == 422 and problems:
            return InputError(problems)
        if status == 409 and code == "stale_ledger":
            return StaleLedger(message)
        if status in (400, 401, 403, 404, 409, 413, 422):
            return LedgerError(message)
        if status >= 500:
            return RemoteError(f"the server at {self.url} answered {status} ({code}): {message}")
        return RemoteError(f"the server at {self.url} answered {status} ({code}): {message}")

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET (retried while the server is away)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST (retried only with an idempotency key)."""
        return self.request("POST", path, **kwargs)


def new_key() -> str:
    """A fresh Idempotency-Key: a retried POST with it is applied once."""
    return f"cli-{uuid.uuid4().hex}"


def connect(
    server: str | None,
    profile: str | None,
    workspace: str | None,
    db: str | None = None,
) -> Remote | None:
    """A connected :class:`Remote` when a server is named (see :func:`target`), else None."""
    where = target(server, profile, workspace, db)
    return Remote.connect(where) if where is not None else None
