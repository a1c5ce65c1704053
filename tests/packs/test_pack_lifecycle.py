"""The pack lifecycle of issue 4, section 5, on SQLite and PostgreSQL.

An admin customizes crm_standard (a label, a required flag, a picklist value, a
custom field, a layout); the vendor ships a new version that changes the same
label (a conflict), another property (applies), adds a field (arrives) and
removes one that holds data (archived, data intact). The dry run predicts
exactly what the upgrade then does; industrial keeps working; uninstalling
industrial removes exactly what it created; the admin's changes exported as a
pack reproduce the same effective definitions on a fresh database.
"""

from __future__ import annotations

import copy
import sys

import pytest
import sqlalchemy as sa

from trellis.metadata import store
from trellis.metadata.components import assemble_objects
from trellis.runtime import sample_data
from trellis.runtime.errors import Conflict, Forbidden, Invalid
from trellis.runtime.platform_runtime import Runtime

_runtime_conftest = sys.modules["trellis_tests_runtime_conftest"]
ADMIN = "admin"
LEGACY = {
    "api_name": "legacy_code",
    "type": "text",
    "length": 40,
    "label": {"zh-CN": "旧系统编码", "en": "Legacy code"},
}


def _field(data: dict, name: str) -> dict:
    return next(f for f in data["fields"] if f["api_name"] == name)


@pytest.fixture
def v1(pack_copy):
    """crm_standard 1.0.0 as installed: the shipped pack plus a field the next version drops."""
    base = pack_copy("crm_standard", "v1_0")
    base.set_version("1.0.0")
    base.edit("objects/lead.json", lambda lead: lead["fields"].append(copy.deepcopy(LEGACY)))
    return base


@pytest.fixture
def v1_1(pack_copy):
    """crm_standard 1.1.0: same label changed, another property changed, a field added and
    one removed (it was never in the shipped copy), a picklist value added."""
    new = pack_copy("crm_standard", "v1_1")
    new.set_version("1.1.0")

    def change(lead):
        _field(lead, "company_name")["label"]["zh-CN"] = "公司全称"
        _field(lead, "title")["label"]["en"] = "Position"
        _field(lead, "region")["values"].append(
            {"api_name": "northwest", "label": {"zh-CN": "西北", "en": "Northwest"}}
        )
        lead["fields"].append(
            {
                "api_name": "budget_confirmed",
                "type": "boolean",
                "label": {"zh-CN": "预算已确认", "en": "Budget confirmed"},
            }
        )

    new.edit("objects/lead.json", change)
    return new


@pytest.fixture
def rt(database_url, v1, monkeypatch):
    _runtime_conftest.cheap_password_hashes(monkeypatch)
    runtime = Runtime(database_url)
    runtime.metadata.init_database()
    runtime.metadata.install_pack(v1.folder, ADMIN)
    sample_data.load_org(runtime, v1.folder / "sample_data", _runtime_conftest.PASSWORD)
    runtime.metadata.install_pack("industrial", ADMIN)
    yield runtime
    runtime.dispose()


def _customize(rt: Runtime) -> None:
    m = rt.metadata
    m.patch(ADMIN, "field:lead.company_name", {"label": {"zh-CN": "客户公司", "en": "Company"}})
    m.patch(ADMIN, "field:lead.industry", {"required": True})
    region = m.definition("field", "lead.region")
    southwest = {"api_name": "southwest", "label": {"zh-CN": "西南", "en": "Southwest"}}
    m.patch(ADMIN, "field:lead.region", {"values": [*region["values"], southwest]})
    m.add_field(
        ADMIN,
        "lead",
        {
            "api_name": "wechat_id",
            "type": "text",
            "length": 60,
            "label": {"zh-CN": "微信号", "en": "WeChat ID"},
        },
    )
    layout = m.definition("layout", "lead.standard")
    sections = copy.deepcopy(layout["sections"])
    sections[0]["fields"].append("wechat_id")
    m.patch(ADMIN, "layout:lead.standard", {"sections": sections})


def _create_lead(rt: Runtime, **values) -> dict:
    ctx = rt.context_for(ADMIN)
    data = {
        "company_name": "华东样板客户",
        "mobile": "13812345678",
        "industry": "chemical",
        **values,
    }
    return rt.records.create(ctx, "lead", data).record


def _effective(rt: Runtime) -> dict:
    with rt.engine.connect() as conn:
        return {k: c.definition for k, c in store.load(conn).effective().items()}


def _column_exists(rt: Runtime, table: str, column: str) -> bool:
    with rt.engine.connect() as conn:
        return column in {c["name"] for c in sa.inspect(conn).get_columns(table)}


def test_upgrade_keeps_admin_changes_applies_vendor_changes_and_lists_the_conflict(rt, v1_1):
    _customize(rt)
    lead = _create_lead(rt, legacy_code="OLD-0001")
    version_before = rt.metadata.packs()[0]["version"]
    effective_before = _effective(rt)

    dry = rt.metadata.upgrade_pack(v1_1.folder, ADMIN, dry_run=True)

    # The dry run changed nothing at all.
    assert rt.metadata.packs()[0]["version"] == version_before
    assert _effective(rt) == effective_before
    assert not _column_exists(rt, "rec_lead", "budget_confirmed")
    assert rt.metadata.conflicts() == []

    real = rt.metadata.upgrade_pack(v1_1.folder, ADMIN)
    predicted, happened = dry.as_json(), real.as_json()
    assert (predicted.pop("applied"), happened.pop("applied")) == (False, True)
    predicted.pop("version"), happened.pop("version")
    assert predicted == happened  # the dry run predicted exactly what happened

    report = happened
    assert report["from_version"] == "1.0.0" and report["to_version"] == "1.1.0"
    assert [c["place"] for c in report["conflicts"]] == ["label/zh-CN"]
    conflict = report["conflicts"][0]
    assert (conflict["base"], conflict["vendor"], conflict["admin"]) == (
        "公司名称",
        "公司全称",
        "客户公司",
    )
    assert {"key": "field:lead.title", "property": "label"} in report["vendor_changes"]
    assert report["arrived"] == ["field:lead.budget_confirmed"]
    assert report["archived"] == ["field:lead.legacy_code"]
    ddl = {(s["action"], s["target"]): s["rows_affected"] for s in report["ddl"]}
    assert ddl[("add_column", "budget_confirmed")] == 0
    assert ddl[("archive_column", "legacy_code")] == 1  # the one lead holding a value

    m = rt.metadata
    company = m.definition("field", "lead.company_name")
    assert company["label"] == {"zh-CN": "客户公司", "en": "Company"}  # the admin's value stays
    assert m.definition("field", "lead.title")["label"]["en"] == "Position"  # the vendor's applies
    assert m.definition("field", "lead.industry")["required"] is True  # kept
    regions = [v["api_name"] for v in m.definition("field", "lead.region")["values"]]
    assert regions[-2:] == ["northwest", "southwest"]  # both additions
    assert "wechat_id" in m.definition("layout", "lead.standard")["sections"][0]["fields"]
    assert m.definition("field", "lead.wechat_id")["label"]["en"] == "WeChat ID"
    assert m.definition("field", "lead.legacy_code")["archived"] is True

    # The removed field's data is intact in its column; the new field is usable.
    with rt.engine.connect() as conn:
        kept = conn.execute(
            sa.text("SELECT legacy_code FROM rec_lead WHERE id = :i"), {"i": lead["id"]}
        )
        assert kept.scalar_one() == "OLD-0001"
    fresh = _create_lead(rt, budget_confirmed=True, region="northwest")
    assert fresh["budget_confirmed"] is True and "legacy_code" not in fresh
    with pytest.raises(Invalid):
        _create_lead(rt, industry=None)  # the admin's "required" still holds

    # Industrial still works on the upgraded crm_standard.
    account = rt.records.create(
        rt.context_for(ADMIN), "account", {"account_name": "测试化工有限公司"}
    )
    sample = rt.records.create(
        rt.context_for(ADMIN),
        "sample_request",
        {"account": account.record["id"], "product_name": "UV胶", "quantity_kg": "5"},
    )
    assert sample.record["account"] == account.record["id"]


def test_resolving_a_conflict_takes_the_chosen_side_and_closes_it(rt, v1_1):
    _customize(rt)
    rt.metadata.upgrade_pack(v1_1.folder, ADMIN)
    rt.metadata.resolve_conflict(ADMIN, "field:lead.company_name", "label/zh-CN", "vendor")
    label = rt.metadata.definition("field", "lead.company_name")["label"]
    assert label == {"zh-CN": "公司全称", "en": "Company"}  # the admin's English stays
    assert rt.metadata.conflicts() == []
    with pytest.raises(Exception, match="no open conflict"):
        rt.metadata.resolve_conflict(ADMIN, "field:lead.company_name", "label/zh-CN", "admin")


def test_uninstalling_industrial_removes_exactly_what_it_created_and_keeps_its_data(rt):
    from trellis.metadata.packs import locate, read

    created = set(read(locate("industrial")).components)
    account = rt.records.create(
        rt.context_for(ADMIN), "account", {"account_name": "某化工有限公司"}
    )
    rt.records.create(
        rt.context_for(ADMIN),
        "sample_request",
        {"account": account.record["id"], "product_name": "硅胶", "quantity_kg": "2"},
    )
    rt.metadata.add_field(
        ADMIN,
        "account",
        {
            "api_name": "erp_code",
            "type": "text",
            "length": 30,
            "label": {"zh-CN": "ERP编码", "en": "ERP code"},
        },
    )
    before = _effective(rt)

    with pytest.raises(Conflict, match="industrial"):
        rt.metadata.uninstall_pack("crm_standard", ADMIN)  # industrial depends on it

    result = rt.metadata.uninstall_pack("industrial", ADMIN)
    after = _effective(rt)
    report = result.as_json()
    gone = before.keys() - after.keys()
    assert gone == {k for k in created if k not in after}
    assert set(report["removed"]) == gone
    assert "field:account.erp_code" in after  # the admin's own field stays
    assert [p["name"] for p in rt.metadata.packs()] == ["crm_standard"]
    assert report["archived_rows"]["rec_sample_request"] == 1
    with rt.engine.connect() as conn:  # nothing dropped
        assert conn.execute(sa.text("SELECT COUNT(*) FROM rec_sample_request")).scalar_one() == 1


def test_exported_customizations_reproduce_the_same_definitions_elsewhere(
    rt, v1, tmp_path, second_database_url
):
    _customize(rt)
    rt.metadata.create_object(
        ADMIN,
        {
            "api_name": "site_visit",
            "label": {"zh-CN": "现场考察", "en": "Site visit"},
            "plural_label": {"zh-CN": "现场考察", "en": "Site visits"},
            "fields": [
                {
                    "api_name": "subject",
                    "type": "text",
                    "length": 80,
                    "label": {"zh-CN": "主题", "en": "Subject"},
                },
                {
                    "api_name": "lead",
                    "type": "lookup",
                    "target": "lead",
                    "label": {"zh-CN": "线索", "en": "Lead"},
                },
            ],
        },
    )
    rt.metadata.patch(ADMIN, "field:lead.score", {"help": None})  # removing a property exports too
    files = rt.metadata.export_pack("acme_custom", tmp_path / "acme_custom")
    assert "pack.json" in files and "objects/site_visit.json" in files

    other = Runtime(second_database_url)
    try:
        other.metadata.init_database()
        other.metadata.install_pack(v1.folder, ADMIN)
        other.metadata.install_pack("industrial", ADMIN)
        other.metadata.install_pack(tmp_path / "acme_custom", ADMIN)
        with rt.engine.connect() as a, other.engine.connect() as b:
            mine = assemble_objects(store.load(a).effective().values())
            theirs = assemble_objects(store.load(b).effective().values())
        assert theirs == mine
        assert _effective(other) == _effective(rt)
    finally:
        other.dispose()


def test_locked_components_refuse_admin_changes(rt):
    with pytest.raises(Forbidden, match="locked by pack crm_standard"):
        rt.metadata.patch(
            ADMIN, "field:opportunity.weighted_amount", {"help": {"zh-CN": "x", "en": "x"}}
        )
