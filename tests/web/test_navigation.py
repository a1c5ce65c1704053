"""The header's navigation: apps an admin arranges (crm_standard's 销售, 财务, 服务 ...), each
user seeing the apps of their roles with the tabs they may read, in the admin's order."""

from __future__ import annotations

import re

import pytest


def _tabs(html: str) -> list[str]:
    nav = re.search(r'<nav class="tabs".*?</nav>', html, re.S)
    assert nav, "the page has no tabs"
    return re.findall(r'data-testid="nav-([a-z_]+)"', nav.group(0))


def _apps(html: str) -> list[str]:
    nav = re.search(r'<nav class="apps".*?</nav>', html, re.S)
    return re.findall(r'data-testid="app-([a-z_]+)"', nav.group(0)) if nav else []


def _current_app(html: str) -> str:
    found = re.search(r'data-testid="app-([a-z_]+)"\s+aria-current="true"', html)
    assert found, "no app is marked current"
    return found.group(1)


@pytest.fixture
def admin(pages, app):
    other = type(pages)(app)
    other.sign_in("admin")
    return other


def test_a_rep_sees_the_sales_app_tabs_in_the_packs_order(signed_in):
    html = signed_in.get("/").get_data(as_text=True)
    # finance, service and marketing are other roles' apps; what the rep may read of theirs
    # (invoices, complaints ...) is under "More", so no page is out of reach
    assert _apps(html) == ["sales", "products", "more"]
    tabs = _tabs(html)
    assert tabs[:4] == ["lead", "account", "contact", "opportunity"]
    assert tabs[-3:] == ["dashboards", "reports", "pools"]
    assert "invoice" not in tabs and "complaint" not in tabs
    more = _tabs(signed_in.get("/?app=more").get_data(as_text=True))
    assert "invoice" in more and "complaint" in more and "lead" not in more
    assert 'data-testid="tile-lead"' in html and 'data-testid="tile-pools"' in html


def test_switching_app_is_remembered_and_an_objects_page_shows_its_app(signed_in):
    products = signed_in.get("/?app=products").get_data(as_text=True)
    assert _current_app(products) == "products" and _tabs(products)[0] == "product"
    later = signed_in.get("/search?q=x").get_data(as_text=True)
    assert _current_app(later) == "products"  # kept in the session
    lead_list = signed_in.get("/o/lead").get_data(as_text=True)
    assert _current_app(lead_list) == "sales"  # the app that shows the page's object
    assert re.search(r'data-testid="nav-lead"\s+aria-current="page"', lead_list)
    unknown = signed_in.get("/?app=finance").get_data(as_text=True)
    assert _current_app(unknown) == "products"  # not one of the rep's apps: ignored


def test_finance_staff_get_the_finance_app(pages):
    pages.sign_in("finance")
    html = pages.get("/?app=finance").get_data(as_text=True)
    assert "finance" in _apps(html)
    assert _tabs(html)[:3] == ["payment_plan", "payment", "invoice"]


def test_an_admins_reordering_shows_on_the_next_page_load(signed_in, admin, app):
    rt = app.extensions["trellis"]
    tabs = [{"object": "opportunity"}, {"object": "lead"}, {"page": "dashboards"}]
    rt.metadata.patch(
        "admin", "app:sales", {"tabs": tabs, "label": {"zh-CN": "我的销售", "en": "My sales"}}
    )
    html = signed_in.get("/").get_data(as_text=True)
    assert _tabs(html)[:3] == ["opportunity", "lead", "dashboards"]
    assert ">我的销售<" in html
    # the objects the rep may read that no app of theirs shows now are under "More"
    more = signed_in.get("/?app=more").get_data(as_text=True)
    assert "account" in _tabs(more) and "contact" in _tabs(more)


def test_an_app_naming_a_missing_object_is_refused_and_the_pages_keep_working(signed_in, app):
    from trellis.metadata import DefinitionError
    from trellis.runtime.errors import TrellisError

    rt = app.extensions["trellis"]
    with pytest.raises((DefinitionError, TrellisError)) as refused:
        rt.metadata.patch("admin", "app:sales", {"tabs": [{"object": "no_such_thing"}]})
    assert "no_such_thing" in str(getattr(refused.value, "details", "")) + str(refused.value)
    assert _tabs(signed_in.get("/").get_data(as_text=True))[0] == "lead"


def test_app_labels_show_literally(signed_in, app):
    rt = app.extensions["trellis"]
    rt.metadata.patch("admin", "app:sales", {"label": {"zh-CN": "<b>{{7*7}}</b>", "en": "x"}})
    html = signed_in.get("/").get_data(as_text=True)
    assert "&lt;b&gt;{{7*7}}&lt;/b&gt;" in html and "<b>{{7*7}}" not in html
