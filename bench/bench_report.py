"""Results of the benchmarks: one ``Result`` per figure, the summary table and the JSON file.

Every ratio is *Trellis cost / baseline cost* for the same amount of work (time / time,
or baseline rows/s / Trellis rows/s), so 1.0 means "as fast as hand-written Core" and
2.0 means "takes twice as long". ``passed`` is None for figures without a target.
"""

from __future__ import annotations

import json
import platform as stdlib_platform  # the standard library's module, not Trellis
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Result:
    bench: str  # create | bulk | list | formula | add_field
    database: str  # sqlite | postgresql | - (database independent)
    measure: str  # what was measured, in words
    trellis: float
    baseline: float | None
    unit: str  # s, ms, rows/s, us/eval
    ratio: float | None  # Trellis cost / baseline cost (> 1: Trellis is slower)
    target: str
    passed: bool | None
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "MISS", None: "info"}[self.passed]


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "rows/s":
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, like numpy's default."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def print_result(result: Result) -> None:
    """One figure as soon as it is known: Trellis, baseline, ratio, verdict."""
    baseline = (
        f"  baseline {fmt(result.baseline, result.unit)} {result.unit}"
        if result.baseline is not None
        else ""
    )
    ratio = f"  ratio {result.ratio:.2f}" if result.ratio is not None else ""
    print(
        f"  [{result.verdict}] {result.measure}: Trellis {fmt(result.trellis, result.unit)} "
        f"{result.unit}{baseline}{ratio}   (target: {result.target})",
        flush=True,
    )
    for note in result.notes:
        print(f"         - {note}", flush=True)


def summary_table(results: list[Result]) -> str:
    headers = ["bench", "db", "measure", "unit", "Trellis", "baseline", "ratio", "target", ""]
    rows = [
        [
            r.bench,
            r.database,
            r.measure,
            r.unit,
            fmt(r.trellis, r.unit),
            fmt(r.baseline, r.unit),
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            r.target,
            r.verdict,
        ]
        for r in results
    ]
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    right = {4, 5, 6}  # numbers right-aligned (Trellis, baseline, ratio)

    def line(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    missed = [r for r in results if r.passed is False]
    passed = [r for r in results if r.passed is True]
    out.append("")
    out.append(
        f"{len(passed)} PASS, {len(missed)} MISS, {len(results) - len(passed) - len(missed)} info"
    )
    return "\n".join(out)


def write_json(path: Path, results: list[Result], run_info: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "run": {
            **run_info,
            "python": sys.version.split()[0],
            "machine": stdlib_platform.machine(),
            "system": stdlib_platform.platform(),
        },
        "results": [asdict(r) | {"verdict": r.verdict} for r in results],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
