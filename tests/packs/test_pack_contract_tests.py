"""Pack contract tests: the shipped packs' own cases pass on SQLite and PostgreSQL, and the
runner reports a wrong expectation (expected and got) and a malformed case file (its place)
in words, never with a traceback.

The tests that need a pack of their own write a small "consultant's pack" into tmp_path: a
``pack.json`` depending on crm_standard and a ``tests/`` folder, nothing else, so its
cases run against the standard CRM and its sample organisation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from trellis.metadata.packs import locate
from trellis.packtests import read_cases, run_pack_tests
from trellis.packtests.cases import validator
from trellis.runtime.platform_runtime import Runtime

SHIPPED = ["crm_standard", "industrial"]
NOW = "2026-03-10T10:30:00+08:00"


def consultant_pack(root: Path, files: dict[str, Any]) -> Path:
    """A pack with only contract tests: ``files`` maps a file name in tests/ to its JSON
    (a str is written as it is, to make broken files)."""
    folder = root / "acme_checks"
    (folder / "tests").mkdir(parents=True)
    manifest = {
        "name": "acme_checks",
        "version": "0.1.0",
        "label": {"zh-CN": "客户验收用例", "en": "Acme acceptance checks"},
        "dependencies": {"crm_standard": "^1"},
    }
    (folder / "pack.json").write_text(json.dumps(manifest), "utf-8")
    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        (folder / "tests" / name).write_text(text, "utf-8")
    return folder


def cases(*items: dict, user: str = "rep_east") -> dict:
    return {"user": user, "now": NOW, "cases": list(items)}


def lead(ref: str = "lead", **values) -> dict:
    return {
        "object": "lead",
        "records": [
            {"_ref": ref, "company_name": "苏州恒力新材料有限公司", "region": "east", **values}
        ],
    }


# -- the shipped packs ---------------------------------------------------------------------


@pytest.mark.parametrize("pack", SHIPPED)
def test_the_shipped_packs_pass_their_contract_tests(pack: str, database_url: str):
    report = run_pack_tests(locate(pack), database_url=database_url)
    assert report.passed, report.as_text()
    assert report.results, f"{pack} carries no contract tests"
    assert report.version is not None


def test_the_crm_cases_still_pass_with_industrial_installed_on_top():
    report = run_pack_tests(locate("crm_standard"), extra_packs=["industrial"])
    assert report.passed, report.as_text()


def test_the_industrial_cases_pass_on_top_of_an_upgraded_crm_standard(pack_copy):
    newer = pack_copy("crm_standard", "v1_1")
    old = newer.read("pack.json")["version"]
    newer.set_version("1.1.0")
    report = run_pack_tests(locate("industrial"), extra_packs=["crm_standard", newer.folder])
    assert report.passed, report.as_text()
    industrial = json.loads((locate("industrial") / "pack.json").read_text("utf-8"))["version"]
    assert report.installed == [
        f"crm_standard {old}",
        f"crm_standard {old} → 1.1.0 (upgraded)",
        f"industrial {industrial}",
    ]


def test_every_shipped_case_file_matches_the_schema_without_a_database():
    Draft202012Validator.check_schema(validator().schema)
    for pack in SHIPPED:
        found, problems = read_cases(locate(pack))
        assert problems == [], [f"{p.component}{p.place}: {p.message}" for p in problems]
        kinds = {c.kind for c in found}
        assert kinds, pack
    crm_kinds = {c.kind for c in read_cases(locate("crm_standard"))[0]}
    assert crm_kinds == {"validation", "approval", "automation"}


# -- what a report says ----------------------------------------------------------------------


def test_wrong_expectations_fail_saying_what_was_expected_and_what_happened(tmp_path: Path):
    quote = {
        "object": "quote",
        "records": [
            {
                "_ref": "quote",
                "quote_name": "深度折扣报价",
                "list_amount": 100000,
                "quoted_amount": 60000,
            }
        ],
    }
    folder = consultant_pack(
        tmp_path,
        {
            "wrong.json": cases(
                {
                    "name": "the deep discount goes to the manager alone (wrong)",
                    "given": [quote],
                    "approval": {
                        "submit": "#quote",
                        "steps": [{"node": "manager", "action": "approve"}],
                        "status": "approved",
                    },
                },
                {
                    "name": "leads are recycled after two days (wrong)",
                    "given": [lead(mobile="13800138001")],
                    "automation": {
                        "name": "recycle_unfollowed",
                        "record": "#lead",
                        "fires_at": "2026-03-12T10:30:00+08:00",
                    },
                },
                {
                    "name": "a lead without a mobile or an email is saved (wrong)",
                    "validation": {
                        "create": "lead",
                        "values": {"company_name": "无锡华光涂料有限公司"},
                        "succeeds": True,
                    },
                },
                {
                    "name": "the recycled lead keeps its owner (wrong)",
                    "given": [lead(mobile="13800138001")],
                    "automation": {
                        "name": "recycle_unfollowed",
                        "record": "#lead",
                        "fires_at": "2026-03-13T10:30:00+08:00",
                        "fields": {"owner": "rep_east"},
                        "pool": "north_leads",
                    },
                },
                {
                    "name": "a right expectation among the wrong ones",
                    "given": [lead(mobile="13800138001")],
                    "automation": {
                        "name": "recycle_unfollowed",
                        "record": "#lead",
                        "fires_at": "2026-03-13T10:30:00+08:00",
                        "pool": "east_leads",
                    },
                },
            )
        },
    )
    report = run_pack_tests(folder)
    assert not report.passed and report.problems == []
    failures = {r.name: r.failures for r in report.results}
    assert failures["a right expectation among the wrong ones"] == ()
    assert failures["the deep discount goes to the manager alone (wrong)"] == (
        "step 1: the approval waits at node [manager_then_vp], expected 'manager'",
    )
    [early] = failures["leads are recycled after two days (wrong)"]
    assert early.startswith(
        "automation lead.recycle_unfollowed did not fire for #lead at 2026-03-12T10:30:00+08:00"
    )
    assert "due at 2026-03-13T10:30:00+08:00" in early
    [saved] = failures["a lead without a mobile or an email is saved (wrong)"]
    assert "expected the lead to be created, but it was refused" in saved
    assert "mobile: 手机和邮箱至少填写一项" in saved
    assert set(failures["the recycled lead keeps its owner (wrong)"]) == {
        "lead.owner is None, expected 'rep_east'",
        "the lead is in pool 'east_leads', expected pool 'north_leads'",
    }
    text = report.as_text()
    assert "FAIL the deep discount goes to the manager alone (wrong)" in text
    assert "ok   a right expectation among the wrong ones" in text
    assert text.splitlines()[-1].startswith("FAILED: pack acme_checks 0.1.0: 5 case(s) run")


def test_an_expected_refusal_that_does_not_come_is_a_failure(tmp_path: Path):
    folder = consultant_pack(
        tmp_path,
        {
            "refusals.json": cases(
                {
                    "name": "a lead with a mobile is refused (wrong)",
                    "validation": {
                        "create": "lead",
                        "values": {"company_name": "常州奥特密封件", "mobile": "13800138003"},
                        "fails": [{"field": "mobile", "message": "至少填写一项"}],
                    },
                },
                {
                    "name": "the wrong message is expected",
                    "validation": {
                        "create": "lead",
                        "values": {"company_name": "常州奥特密封件"},
                        "fails": [{"field": "mobile", "message": "手机号码格式不对"}],
                    },
                },
            )
        },
    )
    results = {r.name: r.failures for r in run_pack_tests(folder).results}
    assert results["a lead with a mobile is refused (wrong)"] == (
        "expected the lead to be refused with field='mobile' message='至少填写一项', "
        "but it was created",
    )
    [wrong] = results["the wrong message is expected"]
    assert wrong.startswith("expected an error field='mobile' message='手机号码格式不对'; ")
    assert "(mobile: 手机和邮箱至少填写一项)" in wrong


def test_each_case_starts_from_the_installed_pack_alone(tmp_path: Path):
    # The account name rule blocks duplicates: a case that saw another case's account
    # would be refused.
    same_account = {
        "validation": {
            "create": "account",
            "values": {"account_name": "宁波东方精密机械有限公司"},
            "succeeds": True,
            "fields": {"owner": "rep_east"},
        }
    }
    folder = consultant_pack(
        tmp_path,
        {
            "a.json": cases({"name": "first", **same_account}),
            "b.json": cases({"name": "second", **same_account}, {"name": "third", **same_account}),
        },
    )
    report = run_pack_tests(folder)
    assert report.passed, report.as_text()
    assert [r.name for r in report.results] == ["first", "second", "third"]


# -- broken case files ---------------------------------------------------------------------


def test_broken_case_files_are_reported_with_their_place_and_the_rest_still_runs(
    tmp_path: Path,
):
    good = cases(
        {
            "name": "a lead needs a mobile or an email",
            "validation": {
                "create": "lead",
                "values": {"company_name": "苏州华科新材料"},
                "fails": [{"field": "mobile"}],
            },
        }
    )
    folder = consultant_pack(
        tmp_path,
        {
            "a_not_json.json": '{"cases": [\n  {"name": "x",}\n]}',
            "b_schema.json": cases(
                {"name": "two checks", "validation": {}, "automation": {}},
                {"name": "no time zone", "now": "2026-03-10 10:30", "validation": {}},
            ),
            "c_names.json": cases(
                {
                    "name": "unknown object",
                    "validation": {"create": "leed", "values": {}, "succeeds": True},
                },
                {
                    "name": "unknown field and record",
                    "given": [lead(compnay="x")],
                    "approval": {"submit": "#qoute", "steps": [{"roles": ["sales_vp"]}]},
                },
                {
                    "name": "unknown people and automation",
                    "user": "nobody",
                    "given": [lead()],
                    "automation": {"name": "recycle", "record": "#lead", "notified": ["boss"]},
                },
                {
                    "name": "a time automation needs its moment",
                    "given": [lead()],
                    "automation": {"name": "recycle_unfollowed", "record": "#lead"},
                },
            ),
            "d_good.json": good,
            "e_default_user.json": {
                **good,
                "user": "ghost",
                "cases": [{**good["cases"][0], "name": n} for n in ("one", "two")],
            },
        },
    )
    report = run_pack_tests(folder)
    assert not report.passed
    assert [r.name for r in report.results] == ["a lead needs a mobile or an email"]
    assert report.results[0].passed
    problems = {f"{p.component}{p.place}": p.message for p in report.problems}
    assert problems["tests/a_not_json.json"].startswith(
        "the file is not valid JSON (line 2, column 16): Expecting property name"
    )
    assert problems["tests/b_schema.json/cases/0"] == (
        "give exactly one of validation, approval, automation (it has validation and automation)"
    )
    assert "write it like 2026-03-10T10:30:00+08:00" in problems["tests/b_schema.json/cases/1/now"]
    assert problems["tests/c_names.json/cases/0/validation/create"].startswith(
        "there is no object 'leed'; objects: "
    )
    assert problems["tests/c_names.json/cases/1/given/0/records/0/compnay"].startswith(
        "lead has no field 'compnay'"
    )
    assert problems["tests/c_names.json/cases/1/approval/submit"] == (
        "'#qoute' names no record given before it in this case (named records: #lead)"
    )
    assert problems["tests/c_names.json/cases/2/user"].startswith(
        "there is no user 'nobody' in the sample organisation; users: admin, "
    )
    assert problems["tests/c_names.json/cases/2/automation/name"].startswith(
        "there is no automation 'lead.recycle'; automations of lead: "
    )
    assert problems["tests/c_names.json/cases/3/automation"] == (
        "automation lead.recycle_unfollowed is time-triggered: say when it fires with fires_at"
    )
    # The file's default user is wrong: named once, at the file's "user".
    assert [p.place for p in report.problems if p.component == "tests/e_default_user.json"] == [
        "/user"
    ]
    text = report.as_text()
    assert "Traceback" not in text
    assert "problems (these cases did not run):" in text
    assert "  tests/c_names.json/cases/0/validation/create: there is no object 'leed'" in text


def test_a_pack_that_does_not_install_is_a_problem_not_a_crash(tmp_path: Path):
    folder = consultant_pack(tmp_path, {})
    manifest = json.loads((folder / "pack.json").read_text("utf-8"))
    manifest["dependencies"] = {"no_such_pack": "^1"}
    (folder / "pack.json").write_text(json.dumps(manifest), "utf-8")
    report = run_pack_tests(folder)
    assert not report.passed
    [problem] = report.problems
    assert "depends on 'no_such_pack', which is not a shipped pack" in problem.message


def test_pack_tests_refuse_a_database_in_use(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'in_use.db'}"
    Runtime(url).metadata.init_database()
    with pytest.raises(ValueError, match="pack tests need an empty database"):
        run_pack_tests(locate("crm_standard"), database_url=url)
