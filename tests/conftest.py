"""Fixtures shared by the whole suite: a fresh empty database on SQLite and on PostgreSQL.

Request ``database_url`` and the test runs twice, once per database (ids ``sqlite`` and
``postgresql``), each time on a new, empty database that nothing else uses. Tests that only
make sense on PostgreSQL (row locks, ``SKIP LOCKED``) request ``postgres_database_url``.

PostgreSQL comes from ``TRELLIS_TEST_POSTGRES_URL`` when set, else from a throwaway cluster
started once per test session (once per pytest-xdist worker); see ``tests/pg_cluster.py``.
Without the server binaries the PostgreSQL variants are skipped, except in CI (``CI=true``),
where they fail: CI must never go green having tested only SQLite.

Deselect PostgreSQL with ``-m "not postgresql"``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


def _load_helper(name: str):
    # pytest runs with --import-mode=importlib, which puts nothing on sys.path, and tests/
    # is no package (a folder such as tests/platform must never shadow a real module).
    # So the helper module is loaded from its file, under a name no other module uses:
    # "runtime/conftest" becomes the module trellis_tests_runtime_conftest.
    module_name = "trellis_tests_" + name.replace("/", "_")
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, Path(__file__).parent / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


pg_cluster = _load_helper("pg_cluster")
# The runtime tests' fixtures and ``Crm`` helper, reused by tests/api and tests/flows: their
# conftest files take it from sys.modules under this name.
_load_helper("runtime/conftest")

# Fixtures that need a PostgreSQL server; tests using them get the `postgresql` marker.
_POSTGRES_FIXTURES = {"postgres_server", "pg_admin_url", "postgres_database_url"}


def pytest_configure(config: pytest.Config) -> None:
    # The application reads TRELLIS_DATABASE_URL; a developer's shell may point it at a real
    # database. Tests pass their URLs explicitly, so nothing under test may fall back to it.
    os.environ.pop("TRELLIS_DATABASE_URL", None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _POSTGRES_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgresql)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg_cluster.PostgresServer]:
    """The PostgreSQL server of this session: ``TRELLIS_TEST_POSTGRES_URL``, or a throwaway one.

    Yields a ``PostgresServer`` (``admin_url``, ``create_database()``, ``drop_database()``).
    Skips (fails in CI) when no server can be had.
    """
    server = pg_cluster.server_from_env()
    if server is not None:
        yield server
        return
    binaries = pg_cluster.find_server_binaries()
    if binaries is None:
        if _in_ci():
            pytest.fail(
                f"{pg_cluster.MISSING_BINARIES} (apt-get install postgresql); CI=true, so the "
                "PostgreSQL tests may not be skipped",
                pytrace=False,
            )
        pytest.skip(pg_cluster.MISSING_BINARIES)
    # Each pytest-xdist worker (gw0, gw1, ...) starts a cluster of its own.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    cluster = pg_cluster.ThrowawayCluster(binaries, label=worker)
    with _sigterm_unwinds():
        try:
            yield cluster.start()
        finally:
            cluster.stop()


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Let SIGTERM (a CI timeout, `kill`) unwind like Ctrl-C, so the server gets stopped.

    By default SIGTERM ends Python at once, skipping finally blocks and atexit. A killed
    run's server would otherwise live on until the next run removes it.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture(scope="session")
def pg_admin_url(postgres_server: pg_cluster.PostgresServer) -> str:
    """SQLAlchemy URL of a role that may create databases, on the maintenance database.

    For tests that inspect the server itself; everything else wants ``database_url``.
    """
    return postgres_server.admin_url


@pytest.fixture
def postgres_database_url(postgres_server: pg_cluster.PostgresServer) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped (connections and all) after the test."""
    name, url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a new, empty database: a SQLite file, then a PostgreSQL database.

    SQLite: ``sqlite:///<tmp_path>/trellis.db``; PostgreSQL: ``postgresql+psycopg://...``.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trellis.db'}"
    # Looked up only here, so the SQLite variant never starts a PostgreSQL server.
    return request.getfixturevalue("postgres_database_url")
