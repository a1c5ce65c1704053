"""Auto-numbers (format, uniqueness under concurrency) and duplicate rules (warn, block)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest

from trellis.runtime.errors import Conflict


def test_auto_number_follows_the_pack_pattern_in_the_company_time_zone(crm):
    # 2026-03-31 17:00 UTC is already April 1st in Shanghai.
    ctx = crm.ctx("rep_east", now=dt.datetime(2026, 3, 31, 17, 0, tzinfo=dt.UTC))
    first = crm.lead(ctx)
    second = crm.lead(ctx)
    assert (first["lead_number"], second["lead_number"]) == ("LEAD-202604-0001", "LEAD-202604-0002")
    account = crm.account(ctx)
    assert account["account_number"] == "ACC-0001"
    opp = crm.opportunity(ctx, account["id"])
    assert opp["opportunity_number"] == "OPP-2026-00001"


def test_auto_number_is_never_reused_and_not_writable(crm):
    numbers = [crm.lead()["lead_number"] for _ in range(3)]
    crm.records.delete(crm.ctx(), "lead", crm.lead()["id"])  # takes 4, then goes away
    numbers.append(crm.lead()["lead_number"])
    counters = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert counters == [1, 2, 3, 5]
    from trellis.runtime.errors import Invalid

    with pytest.raises(Invalid) as caught:
        crm.lead(lead_number="LEAD-999999-9999")
    assert caught.value.details[0]["field"] == "lead_number"


def test_a_refused_create_does_not_burn_a_number(crm):
    from trellis.runtime.errors import Invalid

    crm.lead()
    with pytest.raises(Invalid):
        crm.lead(email="nope")
    assert crm.lead()["lead_number"].endswith("-0002")


def test_concurrent_creates_all_succeed_with_distinct_numbers(crm):
    threads_count, per_thread = 6, 5
    users = ["rep_east", "rep_north", "manager", "vp", "admin", "manager_north"]
    contexts = [crm.ctx(u) for u in users]
    barrier = threading.Barrier(threads_count)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(ctx):
        try:
            barrier.wait()
            for _ in range(per_thread):
                record = crm.records.create(
                    ctx, "lead", {"company_name": "并发公司", "email": "x@example.com"}
                ).record
                with lock:
                    numbers.append(record["lead_number"])
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in contexts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    total = threads_count * per_thread
    assert len(numbers) == total
    assert len(set(numbers)) == total
    counters = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert counters == list(range(1, total + 1))
    assert crm.count("lead") == total
    assert all(re.fullmatch(r"LEAD-\d{6}-\d{4}", n) for n in numbers)


# -- duplicate rules --------------------------------------------------------------


def test_warn_rule_returns_the_visible_duplicates_and_still_creates(crm):
    first = crm.lead("rep_east", company_name="ABC化工", contact_name="张三")
    result = crm.records.create(
        crm.ctx(),
        "lead",
        {"company_name": "ＡＢＣ 化工", "contact_name": " 张 三", "mobile": "13900000000"},
    )
    assert result.warnings == [
        {
            "rule": "same_company_contact",
            "action": "warn",
            "records": [{"id": first["id"], "name": "ABC化工"}],
            "not_visible": 0,
        }
    ]
    assert result.record["company_name"] == "ＡＢＣ 化工"  # the match key normalises, not the value
    assert crm.count("lead") == 2

    # Case and width too; a different contact is no duplicate.
    again = crm.records.create(
        crm.ctx(), "lead", {"company_name": "abc化工", "contact_name": "张三", "email": "a@b.cn"}
    )
    assert [r["id"] for r in again.warnings[0]["records"]] == [first["id"], result.record["id"]]
    other = crm.records.create(
        crm.ctx(), "lead", {"company_name": "abc化工", "contact_name": "李四", "email": "b@b.cn"}
    )
    assert other.warnings == []


def test_warn_rule_counts_duplicates_the_caller_cannot_see_without_naming_them(crm):
    crm.lead("rep_north", company_name="北方秘密客户", contact_name="赵六")
    result = crm.records.create(
        crm.ctx("rep_east"),
        "lead",
        {"company_name": "北方秘密客户", "contact_name": "赵六", "mobile": "13700000000"},
    )
    assert result.warnings == [
        {"rule": "same_company_contact", "action": "warn", "records": [], "not_visible": 1}
    ]
    # The manager of the north sees it by name.
    seen = crm.records.create(
        crm.ctx("vp"),
        "lead",
        {"company_name": "北方秘密客户", "contact_name": "赵六", "mobile": "13700000001"},
    )
    assert len(seen.warnings[0]["records"]) == 2 and seen.warnings[0]["not_visible"] == 0


def test_warn_rule_on_update_when_a_matched_field_changes(crm):
    crm.lead("rep_east", company_name="老牌公司", contact_name="王五")
    mine = crm.lead("rep_east", company_name="新公司", contact_name="王五")
    result = crm.records.update(crm.ctx(), "lead", mine["id"], {"company_name": "老牌 公司"})
    assert result.warnings and result.warnings[0]["rule"] == "same_company_contact"
    # Changing something else does not re-warn.
    result = crm.records.update(crm.ctx(), "lead", mine["id"], {"title": "经理"})
    assert result.warnings == []


def test_block_rule_refuses_with_the_visible_duplicates(crm):
    first = crm.account("rep_east", account_name="华东精工有限公司")
    with pytest.raises(Conflict) as caught:
        crm.account("rep_east", account_name="华东精工 有限公司")
    error = caught.value.as_json()["error"]
    assert error["code"] == "conflict"
    assert error["details"] == [{"field": "account_name", "message": "matches an existing record"}]
    assert error["duplicates"] == [
        {
            "rule": "same_name",
            "action": "block",
            "records": [{"id": first["id"], "name": "华东精工有限公司"}],
            "not_visible": 0,
        }
    ]
    assert crm.count("account") == 1


def test_block_rule_hides_names_the_caller_cannot_see(crm):
    crm.account("rep_north", account_name="ＸＹＺ集团")
    with pytest.raises(Conflict) as caught:
        crm.account("rep_east", account_name="xyz集团")
    error = caught.value.as_json()
    assert error["error"]["duplicates"][0]["records"] == []
    assert error["error"]["duplicates"][0]["not_visible"] == 1
    assert "ＸＹＺ" not in str(error) and "XYZ" not in str(error)
    assert crm.count("account") == 1


def test_block_rule_on_rename(crm):
    crm.account("rep_east", account_name="甲公司")
    other = crm.account("rep_east", account_name="乙公司")
    with pytest.raises(Conflict):
        crm.records.update(crm.ctx(), "account", other["id"], {"account_name": "甲 公司"})
    assert crm.records.get(crm.ctx(), "account", other["id"])["account_name"] == "乙公司"
    # Renaming a record to a variant of its own name is no duplicate of itself.
    same = crm.records.update(crm.ctx(), "account", other["id"], {"account_name": "乙 公司"})
    assert same.record["account_name"] == "乙 公司"
