"""Signing in and out, lockout, CSRF, redirects, language and time zone on the pages."""

from __future__ import annotations

import pytest


def test_a_visitor_is_sent_to_sign_in_and_back_to_the_page_they_wanted(pages):
    response = pages.get("/o/lead?q=abc")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
    pages.get(response.headers["Location"])
    signed = pages.post(
        "/sign-in", {"username": "rep_east", "password": pages.PASSWORD, "next": "/o/lead?q=abc"}
    )
    assert signed.headers["Location"] == "/o/lead?q=abc"
    assert pages.get("/o/lead?q=abc").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example/x", "javascript:x"])
def test_sign_in_never_redirects_off_the_site(pages, target):
    pages.get("/sign-in")
    response = pages.post(
        "/sign-in", {"username": "rep_east", "password": pages.PASSWORD, "next": target}
    )
    assert response.headers["Location"] == "/"


def test_a_wrong_password_says_so_and_five_lock_the_account(pages):
    pages.get("/sign-in")
    for _ in range(5):
        response = pages.post("/sign-in", {"username": "rep_north", "password": "nope"})
        assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True) or (
        "用户名或密码错误" in response.get_data(as_text=True)
    )
    locked = pages.post("/sign-in", {"username": "rep_north", "password": pages.PASSWORD})
    assert locked.status_code == 401
    assert "锁定 15 分钟" in locked.get_data(as_text=True)
    assert pages.get("/").status_code == 302  # still not signed in


def test_sign_out_ends_the_session(signed_in):
    assert signed_in.get("/").status_code == 200
    response = signed_in.post("/sign-out")
    assert response.headers["Location"] == "/sign-in"
    assert signed_in.get("/").status_code == 302


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(signed_in, crm):
    before = crm.count("lead")
    response = signed_in.client.post(
        "/o/lead/new", data={"company_name": "无令牌公司", "mobile": "13900000000"}
    )
    assert response.status_code == 400
    assert "此表单已过期或并非来自本站" in response.get_data(as_text=True)
    assert crm.count("lead") == before
    forged = signed_in.client.post(
        "/sign-out", data={"csrf_token": "forged"}, headers={"Referer": "https://evil.example/"}
    )
    assert forged.status_code == 400
    assert signed_in.get("/").status_code == 200


def test_the_language_switch_changes_the_page_chrome_and_the_labels(signed_in):
    home = signed_in.get("/").get_data(as_text=True)
    assert "退出登录" in home and "线索" in home
    signed_in.post("/language", {"locale": "en", "next": "/o/lead"})
    page = signed_in.get("/o/lead").get_data(as_text=True)
    assert "Sign out" in page and "Leads" in page and "退出登录" not in page
    # The choice is stored on the user: a new session starts in English too.
    again = type(signed_in)(signed_in.app)
    again.sign_in("rep_east")
    assert "Sign out" in again.get("/").get_data(as_text=True)


def test_preferences_refuse_an_unknown_time_zone_and_save_a_real_one(signed_in, crm):
    bad = signed_in.post("/preferences", {"locale": "zh-CN", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert "未知时区" in bad.get_data(as_text=True)
    good = signed_in.post("/preferences", {"locale": "zh-CN", "time_zone": "Europe/Berlin"})
    assert good.status_code == 302
    assert crm.ctx("rep_east").principal.time_zone == "Europe/Berlin"


def test_pages_carry_a_content_security_policy(signed_in):
    response = signed_in.get("/o/lead")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "<script>" not in response.get_data(as_text=True)  # no inline scripts to allow


def test_api_paths_still_answer_json_errors(pages):
    response = pages.client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.is_json
    assert pages.get("/no-such-page").status_code in (302, 404)


def test_the_stylesheet_script_and_front_end_libraries_are_served(pages):
    for url, kind in (
        ("/static/trellis.css", "text/css"),
        ("/static/trellis.js", "text/javascript"),
        ("/vendor/htmx.min.js", "text/javascript"),
        ("/vendor/echarts.min.js", "text/javascript"),
        ("/vendor/Sortable.min.js", "text/javascript"),
    ):
        response = pages.client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == kind, (url, response.mimetype)
        response.close()
    assert pages.client.get("/vendor/package.json").status_code == 404
