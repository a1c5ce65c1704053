"""Signing in for a token, Bearer authentication, lockout and revocation."""

from __future__ import annotations


def _sign_in(api, username, password):
    return api.post("/auth/token", json={"username": username, "password": password}, as_=None)


def test_a_good_password_gives_a_working_token(api):
    response = _sign_in(api, "rep_east", "trellis-demo")
    assert response.status_code == 201
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["token"].startswith("trl_")
    listed = api.get("/objects", headers={"Authorization": f"Bearer {body['token']}"}, as_=None)
    assert listed.status_code == 200


def test_a_bad_password_or_unknown_user_is_401_with_the_same_answer(api):
    wrong = _sign_in(api, "rep_east", "wrong-password")
    unknown = _sign_in(api, "nobody", "wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "unauthorized"


def test_sign_in_needs_text_credentials(api):
    for body in [{"username": "rep_east"}, {"username": 1, "password": 2}, ["rep_east"]]:
        response = api.post("/auth/token", json=body, as_=None)
        assert response.status_code == 400
    response = api.post("/auth/token", data="username=rep_east", as_=None)
    assert response.status_code == 400


def test_five_wrong_passwords_lock_the_account(api):
    for _ in range(5):
        assert _sign_in(api, "rep_north", "wrong-password").status_code == 401
    locked = _sign_in(api, "rep_north", "trellis-demo")
    assert locked.status_code == 401
    assert "locked" in locked.get_json()["error"]["message"]
    # Other users are not affected.
    assert _sign_in(api, "rep_east", "trellis-demo").status_code == 201


def test_a_good_password_resets_the_failure_count(api):
    for _ in range(4):
        assert _sign_in(api, "rep_north", "wrong-password").status_code == 401
    assert _sign_in(api, "rep_north", "trellis-demo").status_code == 201
    for _ in range(4):
        assert _sign_in(api, "rep_north", "wrong-password").status_code == 401
    assert _sign_in(api, "rep_north", "trellis-demo").status_code == 201


def test_requests_without_a_bearer_token_are_401(api):
    for headers in [
        {},
        {"Authorization": "Basic cmVwX2Vhc3Q6dHJlbGxpcy1kZW1v"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "bearer " + api.token("rep_east")},
    ]:
        for path in [
            "/objects",
            "/objects/lead",
            "/objects/lead/records",
            "/objects/lead/records/1",
        ]:
            response = api.get(path, headers=headers, as_=None)
            assert response.status_code == 401, (headers, path)
            assert (
                "Bearer" in response.get_json()["error"]["message"]
                or "token" in (response.get_json()["error"]["message"])
            )
    response = api.post("/objects/lead/records", json={"company_name": "x"}, as_=None)
    assert response.status_code == 401


def test_a_revoked_token_is_refused(api):
    token = api.token("rep_east")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/objects", headers=headers, as_=None).status_code == 200
    assert api.delete("/auth/token", headers=headers, as_=None).status_code == 204
    refused = api.get("/objects", headers=headers, as_=None)
    assert refused.status_code == 401
    assert "revoked" in refused.get_json()["error"]["message"]
    # Revoking again, or without a token, is refused the same way.
    assert api.delete("/auth/token", headers=headers, as_=None).status_code == 401
    assert api.delete("/auth/token", as_=None).status_code == 401


def test_a_deactivated_user_cannot_use_an_old_token(api):
    import sqlalchemy as sa

    from trellis.runtime.system_tables import user_table

    token = api.token("rep_east")
    with api.runtime.engine.begin() as conn:
        conn.execute(
            sa.update(user_table).where(user_table.c.username == "rep_east").values(is_active=False)
        )
    response = api.get("/objects", headers={"Authorization": f"Bearer {token}"}, as_=None)
    assert response.status_code == 401
    assert _sign_in(api, "rep_east", "trellis-demo").status_code == 401


def test_tokens_are_not_stored_in_clear(api):
    import sqlalchemy as sa

    token = api.token("rep_east")
    with api.runtime.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT token_hash FROM trellis_api_token")).scalars().all()
    assert rows and token not in rows and all(token not in r for r in rows)


def test_after_the_lockout_runs_out_one_wrong_password_does_not_lock_again(api, crm):
    import sqlalchemy as sa

    from trellis.runtime.system_tables import user_table

    for _ in range(5):
        _sign_in(api, "rep_north", "wrong-password")
    with crm.rt.engine.begin() as conn:  # the 15 minutes have passed
        conn.execute(
            sa.update(user_table)
            .where(user_table.c.username == "rep_north")
            .values(locked_until=user_table.c.created_at)
        )
    assert _sign_in(api, "rep_north", "wrong-password").status_code == 401
    assert _sign_in(api, "rep_north", "trellis-demo").status_code == 201
