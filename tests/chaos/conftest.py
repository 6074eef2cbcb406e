"""Fixtures of the fault suite: how hard to drive it, and the system a fault strikes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node_adapter.dev.pgcluster import PrivatePostgres
from tests.chaos.servers import small_disk
from tests.chaos.system import Scale, System, make_system


@pytest.fixture(scope="session")
def scale() -> Scale:
    """``CHAOS_SCALE=short`` (the default: ``make test`` and CI) or ``full`` (``make chaos``)."""
    return Scale.from_env()


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    """The whole system on a chain node of its own, with SQLite as its database."""
    yield from make_system(tmp_path)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of the test's own, to restart at will (the machine's shared one is never touched)."""
    server = PrivatePostgres().init()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def system_on_postgres(tmp_path: Path, postgres: PrivatePostgres) -> Iterator[System]:
    yield from make_system(tmp_path, database_url=postgres.url)


@pytest.fixture
def reorging_system(tmp_path: Path, scale: Scale) -> Iterator[System]:
    """The system on a chain that mines every quarter second, writes final after more blocks than a reorg replaces."""
    yield from make_system(tmp_path, block_time=0.25, confirmations=scale.reorg_depth + 2)


@pytest.fixture
def disk() -> Iterator[Path]:
    """A 64 MiB disk of the test's own (a tmpfs)."""
    with small_disk(64) as mount_point:
        yield mount_point


@pytest.fixture
def system_on_disk(tmp_path: Path, disk: Path) -> Iterator[System]:
    """The system with its database, the document store of the portal and the oracle, on ``disk``."""
    yield from make_system(tmp_path, database_url=f"sqlite:///{disk / 'consortium.sqlite3'}")
