"""Shared fixtures: one real local node per backend per test session, isolated per test by evm_snapshot/evm_revert.

A test that takes the ``chain`` fixture runs against Anvil; marked ``@pytest.mark.ganache`` it runs against Ganache too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from web3 import Web3

from node_adapter.connection import connect
from node_adapter.db import create_schema, make_engine
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.dev.pgcluster import PrivatePostgres
from node_adapter.exceptions import ToolchainError
from node_adapter.toolchain import TEST_DATABASE_ENV
from tests.chain_helpers import isolated


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[LocalChain]:
    with LocalChain(backend="anvil", port=free_port()) as node:
        yield node


@pytest.fixture(scope="session")
def ganache_node() -> Iterator[LocalChain]:
    with LocalChain(backend="ganache", port=free_port()) as node:
        yield node


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "chain" in metafunc.fixturenames:
        backends = ["anvil", "ganache"] if metafunc.definition.get_closest_marker("ganache") else ["anvil"]
        metafunc.parametrize("chain", backends, indirect=True)


@pytest.fixture
def chain(request: pytest.FixtureRequest) -> Iterator[LocalChain]:
    """The session's node of the requested backend, with every change of the test reverted afterwards."""
    node: LocalChain = request.getfixturevalue(f"{request.param}_node")
    with isolated(node):
        yield node


@pytest.fixture
def w3(chain: LocalChain) -> Web3:
    """A Web3 connected to the test's chain (chain id checked)."""
    return connect(chain.url, expected_chain_id=chain.chain_id)


# ---------------------------------------------------------------- SQL databases


class _PostgresUse:
    """What the run's PostgreSQL-backed tests ran against, for the summary at the end."""

    tests = 0
    where = ""


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The run's PostgreSQL server: ``CONSORTIUM_TEST_DATABASE_URL`` if set, else a private cluster started for the run
    (on first use, stopped and removed at the end of the run, also when it is interrupted)."""
    external = os.environ.get(TEST_DATABASE_ENV)
    if external:
        _PostgresUse.where = f"the server {TEST_DATABASE_ENV} names ({make_url(external).render_as_string()})"
        yield external
        return
    try:
        server = PrivatePostgres(prefix="consortium-test-pg-")
    except ToolchainError as exc:
        pytest.fail(f"{exc}; or point {TEST_DATABASE_ENV} at a PostgreSQL server", pytrace=False)
    with server:
        _PostgresUse.where = f"PostgreSQL {server.version()}, a private cluster at 127.0.0.1:{server.port}"
        yield server.url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a schema of its own on the run's PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    _PostgresUse.tests += 1
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{server_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _PostgresUse.tests:
        terminalreporter.write_line(f"{_PostgresUse.tests} tests ran against {_PostgresUse.where}")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the fresh database, with node_adapter's tables created."""
    engine = make_engine(db_url)
    create_schema(engine)
    yield engine
    engine.dispose()
