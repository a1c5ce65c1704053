"""What a run of a pack's contract tests found: per case passed or failed, and why."""

from __future__ import annotations

from dataclasses import dataclass, field

from trellis.metadata.problems import Problem


@dataclass(frozen=True)
class CaseResult:
    """One case's outcome; ``failures`` say what was expected and what happened."""

    file: str
    pointer: str
    name: str
    kind: str
    failures: tuple[str, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class PackTestReport:
    """The outcome of ``run_pack_tests``: ``passed`` only when every case ran and passed.

    ``problems`` are what kept cases from running at all: unreadable files, schema
    errors, names that do not exist, a pack that would not install.
    """

    pack: str
    version: str | None = None
    #: the set-up, in order: "crm_standard 1.0.0", "crm_standard 1.0.0 → 1.1.0 (upgraded)"
    installed: list[str] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    setup_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.problems and all(r.passed for r in self.results)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    def summary(self) -> str:
        ran = len(self.results)
        parts = [f"{ran - len(self.failed)} passed", f"{len(self.failed)} failed"]
        if self.problems:
            parts.append(f"{len(self.problems)} problem(s) in the cases")
        title = f"{self.pack} {self.version}" if self.version else self.pack
        verdict = "PASSED" if self.passed else "FAILED"
        return (
            f"{verdict}: pack {title}: {ran} case(s) run, {', '.join(parts)} "
            f"({self.seconds:.1f} s, of which set-up {self.setup_seconds:.1f} s)"
        )

    def as_text(self) -> str:
        """The report for a terminal: each file's cases, every failure and every problem."""
        lines: list[str] = []
        if self.installed:
            lines.append(f"installed: {', '.join(self.installed)}")
        current = None
        for result in self.results:
            if result.file != current:
                current = result.file
                lines.append(current)
            mark = "ok  " if result.passed else "FAIL"
            lines.append(f"  {mark} {result.name} ({result.kind}, {result.seconds:.2f} s)")
            for failure in result.failures:
                lines.append(f"         {failure}")
        if not self.results and not self.problems:
            lines.append("no contract tests: add cases to the pack's tests/ folder")
        if self.problems:
            lines.append("problems (these cases did not run):")
            lines += [f"  {where(p)}: {p.message}" for p in self.problems]
        lines.append(self.summary())
        return "\n".join(lines)


def where(problem: Problem) -> str:
    """A problem's place: the file and the JSON pointer inside it."""
    return f"{problem.component}{problem.place}"
