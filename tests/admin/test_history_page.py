"""The metadata change history at /admin/history and reverting one change from it.

An administrator sees who changed which label and when, with the value before and after,
reverts it after a preview, and the business pages show the pack's label again. A change
touched again later is refused with the later change named; nothing is written.
"""

from __future__ import annotations

from html import unescape

COMPANY = "field:lead.company_name"
MINE = {"zh-CN": "客户单位", "en": "Customer company"}


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _company_label(admin) -> str:
    return admin.runtime.metadata.definition("field", "lead.company_name")["label"]["zh-CN"]


def test_the_history_shows_who_changed_what_before_and_after(admin):
    change = admin.runtime.metadata.patch("manager", COMPANY, {"label": MINE})
    other = admin.runtime.metadata.patch(
        "admin", "field:lead.email", {"label": {"zh-CN": "邮箱", "en": "Mail"}}
    )
    html = _text(admin.get("/admin/history"))
    assert f'data-version="{change.version}"' in html
    assert f"change {COMPANY}: label" in html and "manager" in html
    assert "客户单位" in html and "变更历史" in html  # the new value, the page in Chinese
    # Filtering by the component keeps only its changes.
    only = _text(admin.get("/admin/history", query_string={"key": COMPANY}))
    assert f'data-version="{change.version}"' in only
    assert f'data-version="{other.version}"' not in only
    assert "install pack crm_standard" in only  # the pack created the field


def test_a_pack_install_lists_its_first_components_and_counts_the_rest(admin):
    install = next(c for c in admin.runtime.metadata.history(limit=500) if "pack" in c["detail"][0])
    html = _text(admin.get("/admin/history"))
    rest = len(install["detail"]) - 20
    assert rest > 100 and f"……还有 {rest} 处" in html
    assert len(html) < 200_000  # not every definition of the pack written out


def test_reverting_a_label_change_puts_the_packs_label_back_on_the_business_pages(admin):
    pack_label = _company_label(admin)
    change = admin.runtime.metadata.patch("admin", COMPANY, {"label": MINE})
    assert "客户单位" in _text(admin.get("/o/lead/new"))
    preview = admin.get(f"/admin/history/{change.version}/revert")
    assert preview.status_code == 200 and "客户单位" in _text(preview)
    assert _company_label(admin) == "客户单位"  # the preview is a dry run
    done = admin.post(f"/admin/history/{change.version}/revert", {})
    assert done.status_code == 302
    assert f"已撤销版本 {change.version}" in _text(admin.get(done.headers["Location"]))
    assert _company_label(admin) == pack_label
    assert "客户单位" not in _text(admin.get("/o/lead/new"))


def test_a_change_touched_again_later_is_refused_naming_the_later_change(admin):
    first = admin.runtime.metadata.patch("admin", COMPANY, {"label": MINE})
    later = admin.runtime.metadata.patch(
        "manager", COMPANY, {"label": {"zh-CN": "公司", "en": "Company"}}
    )
    refused = admin.post(f"/admin/history/{first.version}/revert", {})
    assert refused.status_code == 409
    assert f"version {later.version} by manager" in _text(refused)
    assert _company_label(admin) == "公司"
    assert admin.runtime.metadata.history(limit=1)[0]["version"] == later.version


def test_pack_installs_offer_no_revert_and_unknown_versions_are_404(admin):
    html = _text(admin.get("/admin/history"))
    install = next(c for c in admin.runtime.metadata.history(limit=500) if "pack" in c["detail"][0])
    assert f'data-testid="revert-{install["version"]}"' not in html
    refused = admin.post(f"/admin/history/{install['version']}/revert", {})
    assert refused.status_code == 422 and "pack manager" in _text(refused)
    assert admin.get("/admin/history/999999/revert").status_code == 404


def test_only_administrators_see_the_history(pages, crm):
    pages.sign_in("manager")
    assert pages.get("/admin/history").status_code == 404
    assert pages.post("/admin/history/1/revert", {}).status_code == 404
