"""Guards for the repository's layout (architecture decision 1) and the test databases.

The folder ``platform/`` is the import package ``trellis``. Python's standard library has a
module called ``platform`` that SQLAlchemy, pytest and werkzeug import, so ``platform/`` must
never become a regular package (no ``__init__.py``): then it would shadow that module for any
command run from the repository root.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
PLATFORM = REPO / "platform"


def _python_env() -> dict[str, str]:
    """Our environment, minus what would stop the current folder from landing on sys.path."""
    env = dict(os.environ)
    for name in ("PYTHONSAFEPATH", "PYTHONPATH", "PYTHONSTARTUP"):
        env.pop(name, None)
    return env


def test_platform_folder_has_no_init_py():
    assert PLATFORM.is_dir()
    assert not (PLATFORM / "__init__.py").exists(), (
        "platform/__init__.py must not exist: it would make platform/ shadow the standard "
        "library's `platform` module for anything run from the repository root "
        "(architecture decision 1). Its subpackages keep their own __init__.py."
    )


def test_import_platform_from_repository_root_finds_the_standard_library():
    # `python -c` puts the current folder first on sys.path: the situation that would break.
    code = (
        "import sys, importlib.machinery, platform;"
        "spec = importlib.machinery.PathFinder.find_spec('platform', sys.path);"
        "print(platform.python_implementation());"
        "print(sys.path[0] == '');"
        "print(spec.origin)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=_python_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    implementation, cwd_first, origin = result.stdout.split("\n")[:3]
    assert implementation == "CPython"
    assert cwd_first == "True", "the check is void unless the repository root is on sys.path"
    # The import system itself, cache aside, resolves `platform` outside the repository.
    assert not Path(origin).resolve().is_relative_to(REPO), origin


def test_trellis_resolves_to_the_platform_folder():
    modules = [
        importlib.import_module(f"trellis.{name}") for name in ("metadata", "runtime", "flows")
    ]
    trellis = importlib.import_module("trellis")
    for module in modules:
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().parent.parent == PLATFORM, (
            f"{module.__name__} comes from {module.__file__}, not from {PLATFORM}; "
            "run `make install` for an editable install of this checkout"
        )
    assert PLATFORM in [Path(entry).resolve() for entry in trellis.__path__]


_LITTER = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "instance",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
)


def _not_source(folder: str, names: list[str]) -> set[str]:
    ignored = set(_LITTER(folder, names))
    if Path(folder) == REPO / "bench":
        ignored.add("results")
    return ignored


@pytest.mark.slow
def test_wheel_maps_platform_to_trellis_and_ships_the_packs(tmp_path: Path):
    # Build from a copy, so that the build's own litter (build/, *.egg-info) stays out of
    # the working tree and concurrent runs cannot trip over each other.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=_not_source)
    wheels = tmp_path / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = wheels.glob("trellis-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    assert "trellis/metadata/__init__.py" in names
    assert "trellis/packs/crm_standard/pack.json" in names
    top_level = {name.split("/", 1)[0] for name in names}
    assert "platform" not in top_level, "the wheel must not contain a top-level platform/ package"
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"trellis"}


def test_database_url_is_usable(database_url: str):
    """Smoke test of the `database_url` fixture on both databases: empty, writable, readable."""
    engine = sa.create_engine(database_url)
    try:
        assert sa.inspect(engine).get_table_names() == [], "the database must start empty"
        metadata = sa.MetaData()
        greeting = sa.Table(
            "greeting",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("text", sa.String(50), nullable=False),
        )
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(greeting.insert(), [{"text": "你好"}, {"text": "hello"}])
        with engine.connect() as conn:
            rows = conn.execute(sa.select(greeting.c.text).order_by(greeting.c.id)).all()
        assert [row.text for row in rows] == ["你好", "hello"]
        expected_dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
        assert engine.dialect.name == expected_dialect
    finally:
        engine.dispose()
