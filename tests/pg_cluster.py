"""A throwaway PostgreSQL server for the test suite, and fresh empty databases on it.

The suite runs every database test on SQLite and on PostgreSQL (architecture decision 9).
When ``TRELLIS_TEST_POSTGRES_URL`` names a server, that server is used; otherwise
:class:`ThrowawayCluster` makes one with the PostgreSQL server binaries (Debian's
``postgresql`` package): ``initdb`` into a temporary folder, ``pg_ctl start`` on a free port
of 127.0.0.1 with durability turned off for speed, and ``pg_ctl stop -m immediate`` plus
removal of the folder at the end.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` system user
(created by Debian's package) and its folder belongs to that user.

This module knows nothing of pytest; ``tests/conftest.py`` turns it into fixtures.
"""

from __future__ import annotations

import atexit
import functools
import glob
import locale
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

#: An existing server to use instead of starting one: a URL whose user may CREATE DATABASE,
#: e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``.
SERVER_URL_ENV = "TRELLIS_TEST_POSTGRES_URL"

MISSING_BINARIES = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql package"
)

#: The role the tests connect as; it owns each test database but is no superuser, like the
#: account a production deployment runs with.
APP_ROLE = "trellis"
#: The bootstrap superuser made by initdb; it creates and drops the test databases.
ADMIN_ROLE = "postgres"
#: Prefix of the temporary folders, used to find clusters left behind by a killed run.
FOLDER_PREFIX = "trellis-pg-"

# Settings for a server whose data is worthless after the run: no fsync, no waiting for
# the WAL, no full-page images. Plus: loopback only, and a modest memory footprint because
# each pytest-xdist worker starts its own server.
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'32MB'",
    "max_connections": "200",
    "log_checkpoints": "off",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be had: binaries missing, or the server would not start."""


def find_server_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or ``None``.

    Debian keeps them off PATH in ``/usr/lib/postgresql/<major>/bin``; the newest major wins.
    """
    on_path = shutil.which("initdb")
    if on_path:
        folder = Path(os.path.realpath(on_path)).parent
        if (folder / "pg_ctl").exists():
            return folder
    candidates = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        folder = Path(initdb).parent
        major = folder.parent.name
        if (folder / "pg_ctl").exists() and major.isdigit():
            candidates.append((int(major), folder))
    return max(candidates)[1] if candidates else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sqlalchemy_url(url: str | URL, database: str | None = None) -> str:
    """``url`` as a SQLAlchemy URL string for psycopg 3, optionally on another database."""
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _connect_admin(admin_url: str) -> psycopg.Connection:
    parsed = make_url(admin_url)
    params = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": parsed.database or "postgres",
        "connect_timeout": 10,
        **{key: value for key, value in parsed.query.items() if isinstance(value, str)},
    }
    return psycopg.connect(
        **{key: value for key, value in params.items() if value is not None}, autocommit=True
    )


@dataclass
class PostgresServer:
    """A reachable PostgreSQL server on which the tests may create and drop databases.

    ``admin_url`` (SQLAlchemy form) connects as a role allowed to create databases;
    each new database is owned by ``owner``, and :meth:`create_database` returns a URL that
    connects as that role.
    """

    admin_url: str
    owner: str

    def __post_init__(self) -> None:
        self.admin_url = sqlalchemy_url(self.admin_url)
        self._server_version: int | None = None

    @property
    def server_version(self) -> int:
        if self._server_version is None:
            with _connect_admin(self.admin_url) as conn:
                self._server_version = conn.info.server_version
        return self._server_version

    def url_for(self, database: str) -> str:
        """The URL of ``database``, connecting as the database owner."""
        return sqlalchemy_url(make_url(self.admin_url).set(username=self.owner), database)

    def create_database(self) -> tuple[str, str]:
        """Create a fresh, empty database; return ``(name, sqlalchemy_url)``."""
        name = f"t_{secrets.token_hex(8)}"
        statement = sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(self.owner)
        )
        if self.server_version >= 150000:
            # Copying template1's files beats writing it through the WAL for a tiny database.
            statement += sql.SQL(" STRATEGY FILE_COPY")
        with _connect_admin(self.admin_url) as conn:
            conn.execute(statement)
        return name, self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting whatever still uses it."""
        with _connect_admin(self.admin_url) as conn:
            if self.server_version >= 130000:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
                return
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def server_from_env() -> PostgresServer | None:
    """The server named by ``TRELLIS_TEST_POSTGRES_URL``, if that variable is set."""
    url = os.environ.get(SERVER_URL_ENV, "").strip()
    if not url:
        return None
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise PostgresUnavailable(f"{SERVER_URL_ENV} must be a postgresql:// URL, not {url!r}")
    if not parsed.database:
        parsed = parsed.set(database="postgres")
    return PostgresServer(admin_url=parsed, owner=parsed.username or ADMIN_ROLE)


class ThrowawayCluster:
    """A PostgreSQL cluster in a temporary folder, alive between :meth:`start` and :meth:`stop`."""

    def __init__(self, binaries: Path, *, label: str = "") -> None:
        self.binaries = binaries
        self.label = label
        self.folder: Path | None = None
        self.port: int | None = None
        self.server: PostgresServer | None = None
        self.seconds_to_start: float | None = None
        self._run_as = _service_user()

    @property
    def data_dir(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        assert self.folder is not None
        return self.folder / "server.log"

    def start(self) -> PostgresServer:
        """initdb, start the server, create the application role; return the server."""
        began = time.monotonic()
        remove_abandoned_clusters(self.binaries)
        prefix = f"{FOLDER_PREFIX}{self.label + '-' if self.label else ''}"
        # Not pytest's tmp_path: that lives in a folder only root can enter, and the server
        # runs as the postgres user when we are root. The socket path must also stay short.
        self.folder = Path(tempfile.mkdtemp(prefix=prefix))
        (self.folder / "owner.pid").write_text(str(os.getpid()))
        atexit.register(self.stop)
        try:
            if self._run_as is not None:
                os.chown(self.folder, self._run_as.pw_uid, self._run_as.pw_gid)
            self._initdb()
            self._start_server()
            self.server = PostgresServer(
                admin_url=URL.create(
                    "postgresql+psycopg",
                    username=ADMIN_ROLE,
                    host="127.0.0.1",
                    port=self.port,
                    database="postgres",
                ),
                owner=APP_ROLE,
            )
            with _connect_admin(self.server.admin_url) as conn:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(APP_ROLE))
                )
        except BaseException:
            self.stop()
            raise
        self.seconds_to_start = time.monotonic() - began
        return self.server

    def stop(self) -> None:
        """Stop the server at once (its data is thrown away) and remove the folder. Idempotent."""
        folder, self.folder = self.folder, None
        if folder is None:
            return
        _stop_server(self.binaries, folder / "data", self._run_as)
        shutil.rmtree(folder, ignore_errors=True)

    def _run(self, *args: str, failure: str) -> None:
        command = _as_service_user([str(self.binaries / args[0]), *args[1:]], self._run_as)
        result = subprocess.run(
            command,
            cwd=self.folder,  # the postgres user may not be allowed into our own cwd
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{failure} (exit {result.returncode}): {' '.join(command)}\n"
                f"{result.stdout}{result.stderr}{self._log_tail()}{self._root_hint()}"
            )

    def _initdb(self) -> None:
        self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            ADMIN_ROLE,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            _locale(),
            "--no-sync",
            failure="initdb failed",
        )
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# Added by tests/pg_cluster.py for a throwaway test server.\n")
            socket_dir = str(self.folder).replace("'", "''")
            conf.write(f"unix_socket_directories = '{socket_dir}'\n")
            for key, value in _SERVER_SETTINGS.items():
                conf.write(f"{key} = {value}\n")

    def _start_server(self) -> None:
        # The port is free when we look, but another process (say another xdist worker) may
        # take it before the server binds it: then try another one.
        for attempt in range(3):
            self.port = free_port()
            try:
                self._run(
                    "pg_ctl",
                    "start",
                    "--pgdata",
                    str(self.data_dir),
                    "--log",
                    str(self.log_file),
                    "--wait",
                    "--timeout",
                    "60",
                    "-o",
                    f"-p {self.port}",
                    failure="pg_ctl start failed",
                )
                return
            except PostgresUnavailable:
                if attempt == 2:
                    raise

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"\n--- last lines of {self.log_file} ---\n{tail}" if tail else ""

    def _root_hint(self) -> str:
        if self._run_as is None:
            return ""
        return (
            f"\n(Running as root, so the server runs as the {self._run_as.pw_name!r} user; "
            f"it must be able to enter {self.folder}.)"
        )


def remove_abandoned_clusters(binaries: Path) -> None:
    """Stop and delete clusters whose owning process died without cleaning up (kill -9)."""
    pattern = os.path.join(tempfile.gettempdir(), f"{FOLDER_PREFIX}*")
    for folder in map(Path, glob.glob(pattern)):
        try:
            owner = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if owner == os.getpid() or _process_alive(owner):
            continue
        _stop_server(binaries, folder / "data", _service_user())
        shutil.rmtree(folder, ignore_errors=True)


def _stop_server(binaries: Path, data_dir: Path, run_as: pwd.struct_passwd | None) -> None:
    if not (data_dir / "postmaster.pid").exists():
        return
    command = _as_service_user(
        [str(binaries / "pg_ctl"), "stop", "--pgdata", str(data_dir), "-m", "immediate", "-w"],
        run_as,
    )
    try:
        subprocess.run(
            command,
            cwd=data_dir.parent,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        pass
    # Belt and braces: if pg_ctl could not stop it, signal the postmaster ourselves.
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if _process_alive(pid):
        try:
            os.kill(pid, signal.SIGQUIT)  # PostgreSQL's "immediate shutdown"
        except OSError:
            pass


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _service_user() -> pwd.struct_passwd | None:
    """The user the server runs as: ``None`` for ourselves, ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root, and initdb refuses to run as root, but there is no 'postgres' "
            "system user to run it as; install Debian's postgresql package (it creates that "
            f"user), or set {SERVER_URL_ENV} to a server of your own"
        ) from None


def _as_service_user(command: list[str], run_as: pwd.struct_passwd | None) -> list[str]:
    if run_as is None:
        return command
    if shutil.which("runuser"):
        return ["runuser", "-u", run_as.pw_name, "--", *command]
    return ["su", "-s", "/bin/sh", run_as.pw_name, "-c", shlex.join(command)]


def _clean_env() -> dict[str, str]:
    """Our environment without libpq's PG* variables, which would redirect the tools."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = _locale()
    return env


@functools.cache
def _locale() -> str:
    """C.UTF-8 when the C library has it (Unicode-aware upper/lower), else plain C."""
    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        for name in ("C.UTF-8", "C.utf8"):
            try:
                locale.setlocale(locale.LC_CTYPE, name)
            except locale.Error:
                continue
            return name
        return "C"
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
