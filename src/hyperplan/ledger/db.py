"""Where the ledger lives and how to open it: URL resolution, engine, migrations, sessions.

Default database: the SQLite file ``./.hyperplan/ledger.db`` (created on first use, zero set-up);
``--db PATH|URL`` or ``$HYPERPLAN_DATABASE_URL`` choose another file or a PostgreSQL URL
(``postgresql://user@host:5432/name``; the psycopg 3 driver is used). Opening a ledger runs the
Alembic migrations up to the newest revision; ``create_all`` is never used.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Integer, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session, sessionmaker

from hyperplan.ledger.errors import LedgerError, LedgerUnavailable

T = TypeVar("T")

DEFAULT_PATH = Path(".hyperplan") / "ledger.db"
"""The default ledger: a SQLite file under the working directory."""
ENV_URL = "HYPERPLAN_DATABASE_URL"
"""Environment variable naming the database when ``--db`` is not given."""
SQLITE_BUSY_SECONDS = 30.0
"""How long a SQLite writer waits for another writer's lock before giving up, seconds."""


def resolve_url(db: str | os.PathLike[str] | None = None) -> URL:
    """The database URL: ``db`` (a path or a URL), else ``$HYPERPLAN_DATABASE_URL``, else the
    default SQLite file. Raises :class:`LedgerError` for a URL that is not SQLite or PostgreSQL."""
    text = str(db) if db is not None else os.environ.get(ENV_URL) or str(DEFAULT_PATH)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser().absolute()))
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise LedgerError(f"bad database URL {_safe(text)!r}: {exc}") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return url
    if backend == "sqlite":
        return url
    raise LedgerError(
        f"bad database URL {_safe(text)!r}: expected a file path, sqlite:///PATH or "
        "postgresql://USER@HOST:PORT/NAME"
    )


def _safe(text: str) -> str:
    """A URL as it may be shown: any password masked."""
    try:
        return make_url(text).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return text.split("@")[-1] if "@" in text else text


@dataclass
class Ledger:
    """An open ledger database: its URL, engine and session factory."""

    url: URL
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def where(self) -> str:
        """The database as shown to people (a file path, or the URL without its password)."""
        if self.url.get_backend_name() == "sqlite":
            path = Path(str(self.url.database))
            try:
                return str(path.relative_to(Path.cwd()))
            except ValueError:
                return str(path)
        return self.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back everything on any failure."""
        with self.sessions() as session:
            try:
                with wrap_db_errors(self):
                    yield session
                    session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def run_transaction(
    ledger: Ledger,
    work: Callable[[Session], T],
    *,
    attempts: int = 3,
    pause: float = 0.2,
) -> T:
    """``work(session)`` in one transaction, run again (up to ``attempts`` times in all, after
    ``pause`` × attempt seconds) when the database connection dropped under it: an error on
    which SQLAlchemy invalidated the connection (PostgreSQL restarted or killed the session).
    Any other failure, or the last attempt's, is raised as from :meth:`Ledger.transaction`.

    ``work`` must be safe to run twice: the connection may drop after the commit reached the
    database but before its answer did."""
    for attempt in range(1, attempts + 1):
        try:
            with ledger.sessions() as session:
                try:
                    result = work(session)
                    session.commit()
                    return result
                except BaseException:
                    with contextlib.suppress(SQLAlchemyError):  # the connection may be dead
                        session.rollback()
                    raise
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == attempts:
                with wrap_db_errors(ledger):
                    raise
            time.sleep(pause * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def wrap_db_errors(ledger: Ledger | None, url: URL | None = None) -> Iterator[None]:
    """Database failures (cannot connect, not a database, locked) as a clear LedgerError."""
    try:
        yield
    except DBAPIError as exc:
        where = ledger.where if ledger is not None else str(url)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        unavailable = isinstance(exc, OperationalError | InterfaceError)
        error = LedgerUnavailable if unavailable else LedgerError
        raise error(f"ledger database {where}: {reason}") from None


class _IntegerSizedByValue(Integer):
    """How an ``Integer`` parameter is sent to PostgreSQL: without SQLAlchemy's ``::INTEGER``
    cast, so psycopg types it by its value (``smallint``, ``integer``, ``bigint``).

    The ids are ``INTEGER`` columns (up to 2**31 - 1) while the API takes ids up to 2**62; with
    ``%(id)s::INTEGER`` a lookup of id 3000000000 failed in PostgreSQL ("integer out of
    range": a 503 or a 422 naming the database) instead of finding nothing. ``int4 = int8`` is
    an indexed comparison, and a value that fits still goes into an ``INTEGER`` column. (A cast
    to ``BIGINT`` instead breaks SQLAlchemy's own reflection: ``generate_subscripts(int2vector,
    bigint)`` does not exist.)"""

    render_bind_cast = False


def make_engine(url: URL) -> Engine:
    """An engine for ``url``: SQLite with foreign keys on and a busy timeout; PostgreSQL with a
    liveness check of each pooled connection before use (``pool_pre_ping``: after a restart of
    the server the dead connections are replaced, not handed out) and integer parameters sent
    typed by value (:class:`_IntegerSizedByValue`)."""
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    dialect = engine.dialect
    dialect.colspecs = {**type(dialect).colspecs, Integer: _IntegerSizedByValue}  # type: ignore[misc]
    return engine


def open_ledger(db: str | os.PathLike[str] | URL | None = None, *, migrate: bool = True) -> Ledger:
    """Open (and create or upgrade, when ``migrate``) the ledger at ``db``.

    Raises:
        LedgerError: a bad URL, a database that cannot be reached or read, or one whose schema
            is newer than this hyperplan.
    """
    url = db if isinstance(db, URL) else resolve_url(db)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database)
        if path.exists() and not path.is_file():
            raise LedgerError(f"ledger database {path}: not a file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"ledger database {path}: cannot create its folder: {exc}") from None
    try:
        engine = make_engine(url)
    except (NoSuchModuleError, ArgumentError) as exc:
        raise LedgerError(f"bad database URL {_safe(str(url))!r}: {exc}") from None
    ledger = Ledger(url, engine, sessionmaker(engine, expire_on_commit=False))
    if migrate:
        try:
            upgrade(ledger)
        except BaseException:
            engine.dispose()
            raise
    return ledger


def alembic_config(connection: Any) -> Any:
    """An Alembic config for the packaged migrations, bound to ``connection``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "hyperplan.ledger:migrations")
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(ledger: Ledger) -> str | None:
    """The schema revision the database is at (``None``: empty)."""
    from alembic.runtime.migration import MigrationContext

    with wrap_db_errors(ledger), ledger.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest revision this hyperplan knows."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "hyperplan.ledger:migrations")
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def upgrade(ledger: Ledger, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default the newest); a no-op when it is there.

    Two processes upgrading a fresh database at once: the loser's DDL fails, it waits and
    checks again, so both end at the head.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

    head = head_revision()
    target = head if revision == "head" else revision
    for attempt in range(3):
        current = current_revision(ledger)
        if current == target:
            return
        if current is not None and revision == "head":
            cfg = alembic_config(None)
            known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
            if current not in known:
                raise LedgerError(
                    f"ledger database {ledger.where} is at schema revision {current}, newer than "
                    "this hyperplan knows: upgrade hyperplan"
                )
        try:
            with wrap_db_errors(ledger), ledger.engine.begin() as conn:
                _serialise_ddl(conn)
                command.upgrade(alembic_config(conn), target)
            return
        except (LedgerError, SQLAlchemyError):
            if attempt == 2:
                raise
            time.sleep(0.2 * (attempt + 1))


def downgrade(ledger: Ledger, revision: str = "base") -> None:
    """Migrate the database down to ``revision`` (``"base"``: drop every ledger table)."""
    from alembic import command

    with wrap_db_errors(ledger), ledger.engine.begin() as conn:
        _serialise_ddl(conn)
        command.downgrade(alembic_config(conn), revision)


def _serialise_ddl(conn: Any) -> None:
    """On SQLite, run the migration in one ``BEGIN IMMEDIATE`` transaction: all of it or none
    of it, and a second process migrating at the same time waits, then finds nothing to do
    (pysqlite would otherwise run each DDL statement in autocommit). PostgreSQL's DDL is
    transactional already."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def table_names(ledger: Ledger) -> list[str]:
    """Tables in the database, sorted (for tests and diagnostics)."""
    with wrap_db_errors(ledger):
        return sorted(inspect(ledger.engine).get_table_names())
