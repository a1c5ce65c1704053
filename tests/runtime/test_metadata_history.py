"""Metadata change history and reverting a single change (issue 6, pack manager).

Every change an admin, a pack or the CLI makes is a version with who, when and what;
reverting one puts its ``before`` values back as a new version, unless a later change
touched the same property (then it names that change) or it was a pack operation.
"""

from __future__ import annotations

import pytest

from trellis.runtime.errors import Conflict, Invalid, NotFound

COMPANY = "field:lead.company_name"
NEW_LABEL = {"zh-CN": "客户单位", "en": "Customer company"}


def _label(crm, key=COMPANY):
    return crm.rt.metadata.definition("field", key.split(":", 1)[1])["label"]


def _version(crm) -> int:
    return crm.rt.metadata.history(limit=1)[0]["version"]


def test_history_says_who_changed_what_and_when(crm):
    pack_label = _label(crm)
    result = crm.rt.metadata.patch("admin", COMPANY, {"label": NEW_LABEL})
    newest = crm.rt.metadata.history(limit=5)[0]
    assert newest["version"] == result.version
    assert newest["changed_by"] == "admin" and newest["changed_at"]
    assert newest["summary"] == f"change {COMPANY}: label"
    assert newest["detail"] == [
        {"key": COMPANY, "property": "label", "before": None, "after": NEW_LABEL}
    ]
    assert pack_label != NEW_LABEL
    # Filtering by component finds the change among the pack install's many.
    only = crm.rt.metadata.history(key=COMPANY)
    assert [c["version"] for c in only][:1] == [result.version]
    assert all(any(item.get("key") == COMPANY for item in c["detail"]) for c in only)
    # Paging: the next page starts below the version given, newest first.
    more = [
        crm.rt.metadata.patch(
            "admin", COMPANY, {"help": {"zh-CN": f"说明{n}", "en": f"Help {n}"}}
        ).version
        for n in range(3)
    ]
    assert [c["version"] for c in crm.rt.metadata.history(limit=2, before=more[2])] == [
        more[1],
        more[0],
    ]


def test_reverting_a_label_change_brings_back_the_packs_label_and_can_itself_be_reverted(crm):
    pack_label = _label(crm)
    changed = crm.rt.metadata.patch("admin", COMPANY, {"label": NEW_LABEL})
    undone = crm.rt.metadata.revert("admin", changed.version)
    assert undone.applied and undone.version == changed.version + 1
    assert _label(crm) == pack_label
    entry = crm.rt.metadata.history(limit=1)[0]
    assert entry["summary"] == f"revert version {changed.version}: change {COMPANY}: label"
    # The revert is a change like any other: undoing it restores the admin's label.
    crm.rt.metadata.revert("admin", undone.version)
    assert _label(crm) == NEW_LABEL


def test_a_change_touched_again_later_is_not_reverted_and_the_later_one_is_named(crm):
    first = crm.rt.metadata.patch("admin", COMPANY, {"label": NEW_LABEL})
    second = crm.rt.metadata.patch(
        "manager", COMPANY, {"label": {"zh-CN": "公司", "en": "Company"}}
    )
    with pytest.raises(Conflict) as caught:
        crm.rt.metadata.revert("admin", first.version)
    message = caught.value.message
    assert f"version {second.version} by manager" in message and "revert that one first" in message
    assert _version(crm) == second.version  # nothing was written
    assert _label(crm) == {"zh-CN": "公司", "en": "Company"}


def test_reverting_an_added_field_removes_it_and_keeps_its_data_for_a_return(crm):
    field = {
        "api_name": "wechat_id",
        "type": "text",
        "length": 30,
        "label": {"zh-CN": "微信号", "en": "WeChat ID"},
    }
    added = crm.rt.metadata.add_field("admin", "lead", field)
    lead = crm.lead("rep_east", wechat_id="wx_zhang")
    crm.rt.metadata.revert("admin", added.version)
    with pytest.raises(NotFound):
        crm.rt.metadata.definition("field", "lead.wechat_id")
    assert "wechat_id" not in crm.records.get(crm.ctx(), "lead", lead["id"])
    # The column was not dropped: adding the field again shows the value once more.
    crm.rt.metadata.add_field("admin", "lead", field)
    assert crm.records.get(crm.ctx(), "lead", lead["id"])["wechat_id"] == "wx_zhang"


def test_pack_installs_and_unknown_versions_are_refused_plainly(crm):
    install = next(c for c in crm.rt.metadata.history(limit=500) if "pack" in c["detail"][0])
    before = _version(crm)
    with pytest.raises(Invalid) as caught:
        crm.rt.metadata.revert("admin", install["version"])
    assert "pack manager" in caught.value.message
    with pytest.raises(NotFound):
        crm.rt.metadata.revert("admin", 999_999)
    assert _version(crm) == before
