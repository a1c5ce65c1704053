"""API tokens in the admin area (issue 6, section 1), on SQLite and PostgreSQL.

An administrator issues a token for a user: it is shown once, works on /api/v1 as a Bearer
token with that user's rights, shows when it was last used, and after revoking answers 401.
"""

from __future__ import annotations

import re
from html import unescape


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _issue(admin, username: str = "rep_east", name: str = "ERP sync") -> str:
    admin.get("/admin/tokens")
    issued = admin.post("/admin/tokens", {"username": username, "name": name})
    assert issued.status_code == 201, _text(issued)[:1000]
    assert issued.headers["Cache-Control"] == "no-store"
    return re.search(r'data-testid="token-value">(trl_[^<]+)<', _text(issued)).group(1)


def test_nobody_but_admins_finds_the_tokens_page(pages):
    pages.sign_in("rep_east")
    assert pages.get("/admin/tokens").status_code == 404
    assert pages.post("/admin/tokens", {"username": "rep_east", "name": "x"}).status_code == 404


def test_a_token_is_shown_once_and_works_as_its_user_until_revoked(admin, client, crm):
    crm.lead("manager", company_name="经理的线索")
    crm.lead("rep_east", company_name="代表的线索")
    token = _issue(admin)
    listing = _text(admin.get("/admin/tokens"))
    assert token not in listing  # shown once, never again
    assert "ERP sync" in listing and "rep_east" in listing and "从未使用" in listing

    bearer = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/v1/objects/lead/records", headers=bearer)
    assert answer.status_code == 200
    names = {r["company_name"] for r in answer.get_json()["records"]}
    assert names == {"代表的线索"}  # the user's own scope
    assert "从未使用" not in _text(admin.get("/admin/tokens"))  # last used is noted

    token_id = re.search(r'data-testid="revoke-(\d+)"', _text(admin.get("/admin/tokens"))).group(1)
    assert admin.post(f"/admin/tokens/{token_id}/revoke").status_code == 302
    assert "已吊销" in _text(admin.get("/admin/tokens"))
    assert client.get("/api/v1/objects/lead/records", headers=bearer).status_code == 401


def test_a_token_needs_a_user_and_a_name_and_the_name_is_shown_literally(admin):
    admin.get("/admin/tokens")
    refused = admin.post("/admin/tokens", {"username": "", "name": ""})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'data-testid="error-username"' in html and 'data-testid="error-name"' in html
    _issue(admin, name="<img src=x onerror=alert(1)>'; DROP TABLE trellis_api_token;--")
    page = admin.get("/admin/tokens").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "DROP TABLE trellis_api_token" in unescape(page)


def test_a_deactivated_users_token_stops_working(admin, client):
    token = _issue(admin)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/objects/lead/records", headers=bearer).status_code == 200
    admin.get("/admin/users/rep_east")
    admin.post("/admin/users/rep_east/active", {"active": "0"})
    assert client.get("/api/v1/objects/lead/records", headers=bearer).status_code == 401
