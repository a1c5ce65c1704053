"""``run_pack_tests``: a pack's contract tests on a throwaway database.

The steps: read and schema-check the case files; install the pack with its
dependencies (and any extra packs) and load the sample organisation; check
every case's names against what got installed; then run each case from the
same starting point (``Snapshot.restore``): create its given records, run its
check, compare. ``trellis pack test PATH`` prints ``report.as_text()`` and
exits 1 unless ``report.passed``.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import sqlalchemy as sa

from trellis.metadata import packs as pack_files
from trellis.metadata.problems import Problem
from trellis.packtests import approval_check, automation_check, validation_check
from trellis.packtests.case_run import CaseFailed, CaseRun, describe
from trellis.packtests.cases import CaseDef, read_cases
from trellis.packtests.consistency import case_problems
from trellis.packtests.report import CaseResult, PackTestReport
from trellis.packtests.sandbox import (
    SetupFailed,
    Snapshot,
    install,
    install_order,
    load_org,
    manifest,
    refuse_used_database,
)
from trellis.runtime.errors import TrellisError
from trellis.runtime.platform_runtime import Runtime
from trellis.runtime.system_tables import user_table

CHECKS: dict[str, Callable[[CaseRun, object], list[str]]] = {
    "validation": validation_check.run,
    "approval": approval_check.run,
    "automation": automation_check.run,
}


def run_pack_tests(
    pack: Path | str,
    *,
    database_url: str | None = None,
    extra_packs: Sequence[str | Path] = (),
) -> PackTestReport:
    """Run the contract tests in ``pack``/tests on a new database.

    ``database_url``: an empty database to use (default: a temporary SQLite file,
    removed afterwards). ``extra_packs``: packs (folders or shipped names) to
    install first, e.g. a newer version of a dependency.
    """
    started = time.perf_counter()
    try:
        folder = pack_files.locate(str(pack))
        extras = [pack_files.locate(str(p)) for p in extra_packs]
    except FileNotFoundError as exc:
        report = PackTestReport(pack=str(pack))
        report.problems.append(Problem(str(pack), "", str(exc)))
        return report
    report = PackTestReport(pack=_name(folder))
    cases, problems = read_cases(folder)
    report.problems += problems
    with _database(database_url) as url:
        runtime = Runtime(url)
        try:
            _run(runtime, folder, extras, cases, report, started)
        finally:
            runtime.dispose()
    report.seconds = time.perf_counter() - started
    return report


@contextlib.contextmanager
def _database(database_url: str | None) -> Iterator[str]:
    if database_url is not None:
        yield database_url
        return
    with tempfile.TemporaryDirectory(prefix="trellis-pack-tests-") as folder:
        yield f"sqlite:///{Path(folder) / 'pack-tests.db'}"


def _name(folder: Path) -> str:
    try:
        return str(manifest(folder).get("name", folder.name))
    except SetupFailed:
        return folder.name  # the install reports what is wrong with pack.json


def _run(
    runtime: Runtime,
    folder: Path,
    extras: list[Path],
    cases: list[CaseDef],
    report: PackTestReport,
    started: float,
) -> None:
    refuse_used_database(runtime.engine)
    if not _set_up(runtime, folder, extras, report):
        return
    snapshot = Snapshot(runtime.engine)
    report.setup_seconds = time.perf_counter() - started
    with runtime.engine.connect() as conn:
        definitions = runtime.cache.get(conn).definitions
        users = set(conn.execute(sa.select(user_table.c.username)).scalars())
    for case in cases:
        broken = case_problems(definitions, users, case)
        if broken:
            # A wrong default of the file shows in each of its cases: name it once.
            report.problems += [p for p in broken if p not in report.problems]
            continue
        snapshot.restore()
        report.results.append(run_case(runtime, case))


def _set_up(runtime: Runtime, folder: Path, extras: list[Path], report: PackTestReport) -> bool:
    """Install the packs and load the sample organisation; False (with problems) if refused."""
    try:
        order = install_order(folder, extras)
        installed = install(runtime, order)
        load_org(runtime, [folder, *reversed(order)])
    except SetupFailed as exc:
        report.problems.append(Problem(str(folder), "", exc.message))
        report.problems += [
            Problem(str(d.get("pointer") or d.get("field") or folder), "", str(d.get("message")))
            for d in exc.details
        ]
        return False
    report.version = next((p.version for p in installed if p.folder == folder), None)
    report.installed = [str(p) for p in installed]
    return True


def run_case(runtime: Runtime, case: CaseDef) -> CaseResult:
    """Create the case's given records, run its check; never raises."""
    started = time.perf_counter()
    run = CaseRun(runtime, case)
    try:
        for given in case.given:
            run.create_given(given)
        failures = CHECKS[case.kind](run, case.check)
    except CaseFailed as exc:
        failures = [str(exc)]
    except TrellisError as exc:
        failures = [f"refused: {describe(exc)}"]
    except Exception as exc:  # a bug, in the platform or here: one case fails, the run goes on
        failures = [f"crashed with {type(exc).__name__}: {exc} (at {_where(exc)})"]
    return CaseResult(
        file=case.file,
        pointer=case.pointer,
        name=case.name,
        kind=case.kind,
        failures=tuple(failures),
        seconds=time.perf_counter() - started,
    )


def _where(exc: Exception) -> str:
    """The innermost line of Trellis' own code the exception passed through."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{Path(__file__).parent.parent}" in f.filename] or frames
    return f"{Path(ours[-1].filename).name}:{ours[-1].lineno}"
