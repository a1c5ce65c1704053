"""``validation`` cases: a write is refused with the expected errors, or saved."""

from __future__ import annotations

from trellis.packtests.case_run import CaseRun, describe
from trellis.packtests.cases import ExpectedError, ValidationCheck
from trellis.packtests.expectations import compare_fields
from trellis.runtime.errors import TrellisError


def run(case: CaseRun, check: ValidationCheck) -> list[str]:
    object_name, verb = _target(case, check)
    try:
        saved = _write(case, check, object_name)
    except TrellisError as exc:
        if check.fails is None:
            return [f"expected the {object_name} to be {verb}, but it was refused: {describe(exc)}"]
        return missing_errors(check.fails, exc)
    if check.fails is not None:
        wanted = "; ".join(str(e) for e in check.fails)
        return [f"expected the {object_name} to be refused with {wanted}, but it was {verb}"]
    return compare_fields(case, object_name, saved, check.then.fields)


def _target(case: CaseRun, check: ValidationCheck) -> tuple[str, str]:
    if check.update is not None:
        return case.record(check.update)[0], "saved"
    return check.object_name, "created"


def _write(case: CaseRun, check: ValidationCheck, object_name: str) -> int:
    ctx = case.context(check.as_user)
    values = case.resolve(check.values)
    records = case.runtime.records
    if check.update is not None:
        _, record_id = case.record(check.update)
        return records.update(ctx, object_name, record_id, values).record["id"]
    return records.create(ctx, object_name, values).record["id"]


def missing_errors(expected: tuple[ExpectedError, ...], exc: TrellisError) -> list[str]:
    """The expected errors the refusal does not show, each with what it did show."""
    details = list(exc.details) or [{"message": exc.message}]
    missing = [e for e in expected if not any(_matches(e, d, exc.message) for d in details)]
    if not missing:
        return []
    return [f"expected an error {e}; the write was refused with: {describe(exc)}" for e in missing]


def _matches(expected: ExpectedError, detail: dict, headline: str) -> bool:
    if expected.field is not None and detail.get("field") != expected.field:
        return False
    if expected.rule is not None and detail.get("rule") != expected.rule:
        return False
    if expected.message is None:
        return True
    return expected.message in str(detail.get("message", "")) or (
        expected.field is None and expected.rule is None and expected.message in headline
    )
