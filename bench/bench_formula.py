"""Benchmark 4: evaluating compiled formulas (no database).

Each formula is compiled once with ``compile_expression`` and evaluated over varied
values (numbers as int and Decimal, some blanks). It is compared with

* the same logic written as a Python lambda, with the same treatment of blanks
  (the language's rules: arithmetic with a blank is blank, a blank is never >= anything,
  BLANKVALUE replaces None), target: compiled at most 5 times slower;
* parsing and compiling the formula again for every evaluation (what Trellis would cost
  without compiling once per metadata version), target: compiled at least 10 times faster.

Results are checked equal for every value before timing. Each timing is the best of
several repeats (timeit's convention: the minimum is the run least disturbed by the
other processes of the machine).
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import time
from decimal import Decimal

from bench_report import Result

D100 = Decimal(100)

FORMULAS = [
    {
        "name": "weighted amount",
        "source": "amount * probability / 100",
        "lambda": lambda v: (
            None if (a := v["amount"]) is None or (p := v["probability"]) is None else a * p / D100
        ),
    },
    {
        "name": "tier (nested IF)",
        "source": "IF(amount >= 100000, 'large', IF(amount >= 10000, 'medium', 'small'))",
        "lambda": lambda v: (
            "large"
            if (a := v["amount"]) is not None and a >= 100000
            else ("medium" if a is not None and a >= 10000 else "small")
        ),
    },
    {
        "name": "is_key_lead (lead)",
        "source": "BLANKVALUE(score, 0) >= 80 or BLANKVALUE(estimated_amount, 0) >= 500000",
        "lambda": lambda v: (
            (0 if (s := v["score"]) is None else s) >= 80
            or (0 if (e := v["estimated_amount"]) is None else e) >= 500000
        ),
    },
    {
        "name": "display_title (lead)",
        "source": "CONCAT(company_name, ' - ', BLANKVALUE(contact_name, ''))",
        "lambda": lambda v: (
            v["company_name"]
            + " - "
            + (c if (c := v["contact_name"]) is not None and c != "" else "")
        ),
    },
]


def _names():
    from trellis.expressions import ExprType

    number, text = ExprType.NUMBER, ExprType.TEXT
    return {
        "amount": number,
        "probability": number,
        "score": number,
        "estimated_amount": number,
        "company_name": text,
        "contact_name": text,
    }


def make_values(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        out.append(
            {
                "amount": (
                    Decimal(f"{rng.randrange(1_000, 2_000_000)}.{rng.randrange(100):02d}")
                    if rng.random() < 0.9
                    else None
                ),
                "probability": rng.randrange(0, 101) if rng.random() < 0.95 else None,
                "score": rng.randrange(0, 101) if rng.random() < 0.95 else None,
                "estimated_amount": (
                    Decimal(rng.randrange(5_000, 1_200_000)) if rng.random() < 0.9 else None
                ),
                "company_name": f"上海华盛化工有限公司 {i}",
                "contact_name": rng.choice(["王伟", "李娜", "", None]),
            }
        )
    return out


def _best(run, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        best = min(best, run())
    return best


def bench_formulas(evaluations: int, *, seed: int, repeats: int = 5) -> list[Result]:
    from trellis.expressions import compile_expression

    names = _names()
    now = dt.datetime.now(dt.UTC)
    values = make_values(10_000, seed)
    rounds = max(1, evaluations // len(values))
    total = rounds * len(values)
    reparse_count = max(200, total // 100)
    results = []
    for formula in FORMULAS:
        compiled = compile_expression(formula["source"], names)
        plain = formula["lambda"]
        for v in values:
            expected, got = plain(v), compiled.evaluate(v, now=now)
            if expected != got or type(expected) is not type(got):
                raise AssertionError(
                    f"{formula['name']}: the lambda gives {expected!r}, Trellis {got!r} for {v}"
                )

        def run_compiled(compiled=compiled):
            evaluate = compiled.evaluate
            began = time.perf_counter()
            for _ in range(rounds):
                for v in values:
                    evaluate(v, now=now)
            return time.perf_counter() - began

        def run_lambda(plain=plain):
            began = time.perf_counter()
            for _ in range(rounds):
                for v in values:
                    plain(v)
            return time.perf_counter() - began

        def run_reparse(source=formula["source"]):
            sample = values[:reparse_count] if reparse_count <= len(values) else values
            n = 0
            began = time.perf_counter()
            while n < reparse_count:
                for v in sample:
                    compile_expression(source, names).evaluate(v, now=now)
                    n += 1
                    if n == reparse_count:
                        break
            return time.perf_counter() - began

        run_compiled(), run_lambda()  # warm up
        t = _best(run_compiled, repeats) / total * 1e6
        b = _best(run_lambda, repeats) / total * 1e6
        r = _best(run_reparse, max(1, repeats // 2)) / reparse_count * 1e6
        ratio = t / b
        results.append(
            Result(
                bench="formula",
                database="-",
                measure=f"{formula['name']} vs lambda",
                trellis=t,
                baseline=b,
                unit="us/eval",
                ratio=ratio,
                target="ratio <= 5",
                passed=ratio <= 5,
                notes=[f"`{formula['source']}`, {total:,} evaluations, best of {repeats}"],
                extra={"source": formula["source"], "evaluations": total},
            )
        )
        speedup = r / t
        results.append(
            Result(
                bench="formula",
                database="-",
                measure=f"{formula['name']} vs re-parse",
                trellis=t,
                baseline=r,
                unit="us/eval",
                ratio=t / r,
                target="ratio <= 0.1 (>= 10x faster)",
                passed=speedup >= 10,
                notes=[
                    f"compiled once is {speedup:,.0f}x faster than compile_expression + evaluate "
                    f"({reparse_count:,} re-parses)"
                ],
                extra={"source": formula["source"], "speedup": speedup},
            )
        )
    return results
