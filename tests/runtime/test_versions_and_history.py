"""Optimistic versioning (stale writes refused, never merged) and field history."""

from __future__ import annotations

import threading

import pytest

from trellis.runtime.errors import Invalid, StaleVersion


def test_update_with_a_stale_version_is_refused_and_changes_nothing(crm):
    lead = crm.lead("rep_east", company_name="版本公司")
    assert lead["version"] == 1
    moved = crm.records.update(
        crm.ctx("manager"), "lead", lead["id"], {"title": "采购经理"}, expected_version=1
    ).record
    assert moved["version"] == 2
    with pytest.raises(StaleVersion) as caught:
        crm.records.update(
            crm.ctx(), "lead", lead["id"], {"company_name": "覆盖公司"}, expected_version=1
        )
    assert caught.value.extra["current_version"] == 2
    assert caught.value.extra["updated_by"] == crm.user_id("manager")
    now = crm.records.get(crm.ctx(), "lead", lead["id"])
    assert (now["company_name"], now["title"], now["version"]) == ("版本公司", "采购经理", 2)
    assert len(crm.records.history(crm.ctx(), "lead", lead["id"])) == 1


def test_version_in_the_body_counts_as_expected_version(crm):
    lead = crm.lead()
    crm.records.update(crm.ctx(), "lead", lead["id"], {"title": "a"})
    with pytest.raises(StaleVersion):
        crm.records.update(crm.ctx(), "lead", lead["id"], {"title": "b", "version": 1})
    assert crm.records.get(crm.ctx(), "lead", lead["id"])["title"] == "a"
    ok = crm.records.update(crm.ctx(), "lead", lead["id"], {"title": "b", "version": 2})
    assert (ok.record["title"], ok.record["version"]) == ("b", 3)


def test_a_non_numeric_version_is_invalid(crm):
    lead = crm.lead()
    with pytest.raises(Invalid):
        crm.records.update(crm.ctx(), "lead", lead["id"], {"title": "x"}, expected_version="abc")


def test_update_without_real_changes_keeps_the_version_and_writes_no_history(crm):
    lead = crm.lead("rep_east", company_name="不变公司", mobile="13812345678", source="search")
    result = crm.records.update(
        crm.ctx(),
        "lead",
        lead["id"],
        # The same values, typed differently: a label, another phone format, spaces.
        {"company_name": " 不变公司 ", "mobile": "+86 138 1234 5678", "source": "搜索引擎"},
        expected_version=1,
    )
    assert result.record["version"] == 1
    assert result.record["updated_at"] == lead["updated_at"]
    assert crm.records.history(crm.ctx(), "lead", lead["id"]) == []


def test_concurrent_updates_of_the_same_version_exactly_one_wins(crm):
    lead = crm.lead("rep_east")
    writers = ["rep_east", "manager", "vp", "admin"]
    contexts = {w: crm.ctx(w) for w in writers}
    barrier = threading.Barrier(len(writers))
    outcomes: dict[str, object] = {}

    def work(who):
        barrier.wait()
        try:
            outcomes[who] = crm.records.update(
                contexts[who], "lead", lead["id"], {"title": who}, expected_version=1
            ).record
        except BaseException as exc:
            outcomes[who] = exc

    threads = [threading.Thread(target=work, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [w for w, o in outcomes.items() if isinstance(o, dict)]
    losers = [o for o in outcomes.values() if not isinstance(o, dict)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, StaleVersion) for o in losers), losers
    final = crm.records.get(crm.ctx("admin"), "lead", lead["id"])
    assert (final["title"], final["version"]) == (winners[0], 2)
    assert len(crm.records.history(crm.ctx("admin"), "lead", lead["id"])) == 1


def test_concurrent_updates_without_a_version_are_all_applied_in_turn(crm):
    lead = crm.lead("rep_east")
    writers = ["rep_east", "manager", "vp", "admin"]
    contexts = {w: crm.ctx(w) for w in writers}
    barrier = threading.Barrier(len(writers))
    errors = []

    def work(who):
        barrier.wait()
        try:
            crm.records.update(contexts[who], "lead", lead["id"], {"title": who})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    final = crm.records.get(crm.ctx("admin"), "lead", lead["id"])
    assert final["version"] == 1 + len(writers)
    history = crm.records.history(crm.ctx("admin"), "lead", lead["id"])
    assert len(history) == len(writers)
    # Each change starts from the value the previous one left.
    assert [h["old"] for h in history][1:] == [h["new"] for h in history][:-1]


def test_history_lists_only_changed_fields_old_to_new_and_who(crm):
    lead = crm.lead("rep_east", company_name="旧名称", status="new", estimated_amount="1000")
    crm.records.update(
        crm.ctx("manager"),
        "lead",
        lead["id"],
        {"company_name": "新名称", "status": "working", "estimated_amount": "1000.00"},
    )
    history = crm.records.history(crm.ctx(), "lead", lead["id"])
    changes = {h["field"]: (h["old"], h["new"], h["changed_by"]) for h in history}
    manager = crm.user_id("manager")
    assert changes == {
        "company_name": ("旧名称", "新名称", manager),
        "status": ("new", "working", manager),
    }
    assert all(h["changed_at"] for h in history)

    # A formula that moves because an input moved is part of the change (and the pack's
    # key-lead automation, running in the same transaction, raises the priority).
    crm.records.update(crm.ctx(), "lead", lead["id"], {"estimated_amount": "800000"})
    history = crm.records.history(crm.ctx(), "lead", lead["id"])
    latest = {h["field"]: (h["old"], h["new"]) for h in history[2:]}
    assert latest == {
        "estimated_amount": ("1000.00", "800000.00"),
        "is_key_lead": (False, True),
        "priority": ("medium", "high"),
    }

    # Nothing written when nothing changed.
    crm.records.update(crm.ctx(), "lead", lead["id"], {"company_name": "新名称"})
    assert len(crm.records.history(crm.ctx(), "lead", lead["id"])) == len(history)


def test_history_is_not_kept_for_objects_that_do_not_track_it(crm):
    account = crm.account()
    follow_up = crm.follow_up("rep_east", account=account["id"])
    updated = crm.records.update(crm.ctx(), "follow_up", follow_up["id"], {"subject": "改了"})
    assert updated.record["version"] == 2
    assert crm.records.history(crm.ctx(), "follow_up", follow_up["id"]) == []


def test_history_of_a_record_outside_the_scope_is_not_found(crm):
    from trellis.runtime.errors import NotFound

    lead = crm.lead("rep_north")
    crm.records.update(crm.ctx("rep_north"), "lead", lead["id"], {"title": "秘密"})
    with pytest.raises(NotFound):
        crm.records.history(crm.ctx("rep_east"), "lead", lead["id"])
