"""Fixtures that run every ledger test against both backends: SQLite and PostgreSQL.

SQLite: a fresh file per test. PostgreSQL: one throw-away database per test session
(``CREATE DATABASE hp_test_<random>`` on the server of ``$HYPERPLAN_TEST_POSTGRES_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``, dropped at the end), emptied by a
migration downgrade before each test. When PostgreSQL cannot be reached its tests are skipped
with the reason, unless ``HYPERPLAN_REQUIRE_POSTGRES=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hyperplan.ledger.db import Ledger, open_ledger

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a throw-away PostgreSQL database for this test session."""
    admin_url = make_url(os.environ.get("HYPERPLAN_TEST_POSTGRES_URL") or PG_DEFAULT)
    if admin_url.drivername == "postgresql":
        admin_url = admin_url.set(drivername="postgresql+psycopg")
    name = f"hp_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(  # pre-ping: the pooled connection may have died (a restart test)
        admin_url,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
        pool_pre_ping=True,
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        reason = (
            f"PostgreSQL at {admin_url.render_as_string(hide_password=True)} is not reachable "
            f"({type(exc).__name__}: {str(exc).splitlines()[0]}); start it or set "
            "HYPERPLAN_TEST_POSTGRES_URL"
        )
        if os.environ.get("HYPERPLAN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"HYPERPLAN_REQUIRE_POSTGRES=1 and {reason}")
        pytest.skip(reason)
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty database of each backend (the test creates the schema by opening it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    """The ledger at ``db_url``, migrated to the newest revision."""
    opened = open_ledger(db_url)
    try:
        yield opened
    finally:
        opened.dispose()
