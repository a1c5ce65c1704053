"""Creating records: input coercion, defaults, required fields and validation rules."""

from __future__ import annotations

import datetime as dt

import pytest

from trellis.runtime.errors import Invalid


def test_decimals_and_money_accept_strings_and_numbers_and_are_quantised(crm):
    account = crm.account("rep_east")
    cases = {
        "100000": "100000.00",
        "1,234.5": "1234.50",
        "99.995": "100.00",  # half up, never banker's rounding
        12.345: "12.35",
        7: "7.00",
        "0.1": "0.10",
    }
    for given, shown in cases.items():
        opp = crm.opportunity("rep_east", account["id"], amount=given, probability="33.333")
        assert opp["amount"] == shown, given
        assert opp["probability"] == "33.33"
        assert crm.records.get(crm.ctx(), "opportunity", opp["id"])["amount"] == shown


def test_dates_accept_dashes_and_slashes(crm):
    account = crm.account("rep_east")
    opp = crm.opportunity("rep_east", account["id"], expected_close_date="2026/04/30")
    assert opp["expected_close_date"] == "2026-04-30"
    assert str(crm.raw("opportunity", opp["id"])["expected_close_date"]).startswith("2026-04-30")


def test_datetimes_are_stored_in_utc_and_shown_in_the_callers_zone(crm):
    for given in [
        "2026-03-01T09:30:00+08:00",  # the caller's own offset
        "2026-03-01T09:30:00",  # no offset: read in the caller's zone (Asia/Shanghai)
        "2026-03-01T01:30:00Z",  # UTC
        "2026-03-01T10:30:00+09:00",  # another zone
    ]:
        lead = crm.lead("rep_east", last_followed_up_at=given)
        assert lead["last_followed_up_at"] == "2026-03-01T09:30:00+08:00", given
        again = crm.records.get(crm.ctx(), "lead", lead["id"])
        assert again["last_followed_up_at"] == "2026-03-01T09:30:00+08:00", given
        stored = crm.raw("lead", lead["id"])["last_followed_up_at"]
        if isinstance(stored, str):  # SQLite through a raw query hands back text
            stored = dt.datetime.fromisoformat(stored)
        assert stored == dt.datetime(2026, 3, 1, 1, 30), given


def test_phone_numbers_are_normalised(crm):
    for typed, stored in [
        ("13812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("010-12345678", "+861012345678"),
        ("(021) 6234 5678", "+862162345678"),
    ]:
        assert crm.lead("rep_east", mobile=typed)["mobile"] == stored, typed


def test_the_same_phone_typed_two_ways_is_one_duplicate(crm):
    account = crm.account("rep_east")
    crm.contact("rep_east", account["id"], mobile="13812345678")
    result = crm.records.create(
        crm.ctx(),
        "contact",
        {"contact_name": "王五", "account": account["id"], "mobile": "+86 138 1234 5678"},
    )
    assert [w["rule"] for w in result.warnings] == ["same_mobile"]


def test_picklists_accept_the_label_in_either_language(crm):
    lead = crm.lead("rep_east", source="网络广告", industry="Chemicals", region="east")
    assert (lead["source"], lead["industry"], lead["region"]) == ("online_ads", "chemical", "east")


def test_bad_values_are_refused_with_one_detail_per_field_and_nothing_written(crm):
    before = crm.count("lead")
    with pytest.raises(Invalid) as caught:
        crm.records.create(
            crm.ctx(),
            "lead",
            {
                "company_name": "坏数据公司",
                "mobile": "12345",
                "email": "not-an-email",
                "estimated_amount": "lots",
                "source": "carrier pigeon",
                "last_followed_up_at": "yesterday",
                "is_key_lead": True,  # a formula: computed by Trellis
                "no_such_field": 1,
            },
        )
    details = caught.value.details
    fields = [d["field"] for d in details]
    assert sorted(fields) == sorted(
        [
            "mobile",
            "email",
            "estimated_amount",
            "source",
            "last_followed_up_at",
            "is_key_lead",
            "no_such_field",
        ]
    )
    assert all(d["message"] for d in details)
    source = next(d for d in details if d["field"] == "source")["message"]
    assert "online_ads" in source  # says what would fit
    assert crm.count("lead") == before


def test_a_record_must_be_an_object(crm):
    with pytest.raises(Invalid):
        crm.records.create(crm.ctx(), "lead", ["company_name", "x"])


def test_values_that_do_not_fit_are_refused(crm):
    for field, value in [
        ("company_name", "x" * 201),
        ("company_name", 42),
        ("estimated_amount", "-1"),
        ("estimated_amount", "1" * 17),  # more digits than 18,2 holds
        ("estimated_amount", "1e400"),
        ("estimated_amount", True),
        ("email", "a@b"),
        ("last_followed_up_at", "2026-02-30T10:00:00"),
    ]:
        data = {"company_name": "界限公司", "mobile": "13812345678", field: value}
        with pytest.raises(Invalid) as caught:
            crm.records.create(crm.ctx(), "lead", data)
        assert [d["field"] for d in caught.value.details] == [field], (field, value)
    assert crm.count("lead") == 0


def test_integer_bounds_of_the_definition_apply(crm):
    account = crm.account("rep_east")
    with pytest.raises(Invalid) as caught:
        crm.records.create(
            crm.ctx(), "account", {"account_name": "负员工公司", "employee_count": -5}
        )
    assert caught.value.details[0]["field"] == "employee_count"
    assert crm.count("account") == 1
    assert account["employee_count"] is None


def test_defaults_fill_missing_fields(crm):
    ctx = crm.ctx("rep_east", now=crm.NOW)
    lead = crm.lead(ctx)
    assert (lead["status"], lead["priority"]) == ("new", "medium")
    account = crm.account(ctx)
    assert account["account_type"] == "customer"
    opp = crm.opportunity(ctx, account["id"])
    assert (opp["stage"], opp["committed"]) == ("initial_contact", False)
    follow_up = crm.follow_up(ctx, account=account["id"])  # default_formula NOW()
    assert follow_up["occurred_at"] == "2026-03-10T10:30:00+08:00"


def test_given_values_win_over_defaults(crm):
    lead = crm.lead("rep_east", status="working", priority="high")
    assert (lead["status"], lead["priority"]) == ("working", "high")
    account = crm.account("rep_east")
    follow_up = crm.follow_up("rep_east", account=account["id"], occurred_at="2026-01-02T08:00:00")
    assert follow_up["occurred_at"] == "2026-01-02T08:00:00+08:00"


def test_required_fields_are_named(crm):
    with pytest.raises(Invalid) as caught:
        crm.records.create(crm.ctx(), "lead", {"mobile": "13812345678"})
    assert [d["field"] for d in caught.value.details] == ["company_name"]
    with pytest.raises(Invalid) as caught:
        crm.records.create(crm.ctx(), "lead", {"company_name": "   ", "mobile": "13812345678"})
    assert [d["field"] for d in caught.value.details] == ["company_name"]
    assert crm.count("lead") == 0


@pytest.mark.parametrize(
    ("locale", "message"),
    [("zh-CN", "手机和邮箱至少填写一项"), ("en", "Enter a mobile number or an email address")],
)
def test_validation_rules_answer_in_the_callers_language(crm, locale, message):
    with pytest.raises(Invalid) as caught:
        crm.records.create(crm.ctx("rep_east", locale=locale), "lead", {"company_name": "无联系"})
    assert caught.value.details == [
        {"rule": "contact_info_required", "message": message, "field": "mobile"}
    ]
    assert crm.count("lead") == 0


def test_validation_rules_apply_on_update_too(crm):
    lead = crm.lead("rep_east", email="a@example.com", mobile=None)
    with pytest.raises(Invalid) as caught:
        crm.records.update(crm.ctx("rep_east", locale="en"), "lead", lead["id"], {"email": None})
    assert caught.value.details[0]["rule"] == "contact_info_required"
    with pytest.raises(Invalid) as caught:
        crm.records.update(crm.ctx(), "lead", lead["id"], {"status": "unqualified"})
    assert caught.value.details[0]["field"] == "unqualified_reason"
    assert crm.records.get(crm.ctx(), "lead", lead["id"])["status"] == "new"
    done = crm.records.update(
        crm.ctx(), "lead", lead["id"], {"status": "unqualified", "unqualified_reason": "无预算"}
    ).record
    assert (done["status"], done["unqualified_reason"]) == ("unqualified", "no_budget")


def test_unknown_object_is_not_found(crm):
    from trellis.runtime.errors import NotFound

    with pytest.raises(NotFound):
        crm.records.create(crm.ctx(), "no_such_object", {"x": 1})


def test_datetimes_do_not_depend_on_the_database_servers_time_zone(crm, database_url):
    """A PostgreSQL server set to Asia/Shanghai (common in China) must not shift stored times."""
    import sqlalchemy as sa

    if crm.rt.engine.dialect.name == "postgresql":
        autocommit = crm.rt.engine.execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as conn:
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            conn.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Shanghai'")
        crm.rt.engine.dispose()  # new connections get the server's zone
    ctx = crm.ctx("rep_east", now=crm.NOW)
    account = crm.account(ctx)
    by_default = crm.follow_up(ctx, account=account["id"])  # occurred_at = NOW()
    typed = crm.follow_up(ctx, account=account["id"], occurred_at="2026-03-10T10:30:00+08:00")
    for record in (by_default, typed):
        assert record["occurred_at"] == "2026-03-10T10:30:00+08:00"
        again = crm.records.get(ctx, "follow_up", record["id"])
        assert again["occurred_at"] == "2026-03-10T10:30:00+08:00"
        assert again["created_at"] == "2026-03-10T10:30:00+08:00"
    from trellis.runtime.queries import ListRequest

    # 10:30 in Shanghai is before 11:00 and after 10:00 there, whatever the server's zone.
    before = "occurred_at <= NOW()"
    page = crm.records.query(ctx, "follow_up", ListRequest(filter=before, total=True))
    assert page["total"] == 2
    later = crm.ctx("rep_east", now=crm.NOW.replace(minute=0))  # 10:00 in Shanghai
    page = crm.records.query(later, "follow_up", ListRequest(filter=before, total=True))
    assert page["total"] == 0


def test_today_is_the_date_in_the_users_time_zone(crm):
    from trellis.runtime.queries import ListRequest

    crm.rt.metadata.add_field(
        "admin",
        "lead",
        {
            "api_name": "first_seen",
            "type": "date",
            "label": {"zh-CN": "字段", "en": "Field"},
            "default_formula": "TODAY()",
        },
    )
    # 17:00 UTC on 10 March is 01:00 on 11 March in Shanghai.
    ctx = crm.ctx("rep_east", now=dt.datetime(2026, 3, 10, 17, 0, tzinfo=dt.UTC))
    lead = crm.lead(ctx)
    assert lead["first_seen"] == "2026-03-11"
    typed = crm.lead(ctx, first_seen="2026-03-11")
    page = crm.records.query(ctx, "lead", ListRequest(filter="first_seen == TODAY()"))
    assert {r["id"] for r in page["records"]} == {lead["id"], typed["id"]}


def test_the_day_of_a_stored_datetime_is_the_users_day(crm):
    # A lead created at 01:00 on 11 March in Shanghai (17:00 UTC on the 10th) is 0 days old
    # that morning: formulas take a datetime's calendar day in the user's zone, like TODAY().
    for api_name, formula in (
        ("age_days", "DAYS_BETWEEN(created_at, TODAY())"),
        ("created_day", "DAY(created_at)"),
    ):
        crm.rt.metadata.add_field(
            "admin",
            "lead",
            {
                "api_name": api_name,
                "type": "formula",
                "return_type": "integer",
                "stored": False,
                "formula": formula,
                "label": {"zh-CN": "字段", "en": "Field"},
            },
        )
    created = crm.ctx("rep_east", now=dt.datetime(2026, 3, 10, 17, 0, tzinfo=dt.UTC))
    lead = crm.lead(created)
    morning = crm.ctx("rep_east", now=dt.datetime(2026, 3, 11, 1, 0, tzinfo=dt.UTC))
    fresh = crm.records.get(morning, "lead", lead["id"])
    assert (fresh["age_days"], fresh["created_day"]) == (0, 11)


def test_now_in_a_rule_compares_with_stored_datetimes(crm):
    crm.rt.metadata.create_object(
        "admin",
        {
            "api_name": "meeting",
            "label": {"zh-CN": "会议", "en": "Meeting"},
            "plural_label": {"zh-CN": "会议", "en": "Meetings"},
            "fields": [
                {
                    "api_name": "starts_at",
                    "type": "datetime",
                    "label": {"zh-CN": "开始", "en": "Starts"},
                }
            ],
            "validation_rules": [
                {
                    "api_name": "not_in_past",
                    "error_condition": "starts_at < NOW()",
                    "field": "starts_at",
                    "message": {"zh-CN": "不能早于现在", "en": "Cannot be in the past"},
                }
            ],
        },
    )
    ctx = crm.ctx("admin", now=dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC))
    ok = crm.records.create(ctx, "meeting", {"starts_at": "2026-03-10T11:00:00"}).record
    assert ok["starts_at"] == "2026-03-10T11:00:00+08:00"
    with pytest.raises(Invalid) as caught:
        crm.records.create(ctx, "meeting", {"starts_at": "2026-03-10T09:00:00"})
    assert caught.value.details[0]["field"] == "starts_at"


@pytest.mark.parametrize("number", ["14012345678", "15412345678", "19412345678", "12345678901"])
def test_numbers_no_operator_issues_are_refused(crm, number):
    with pytest.raises(Invalid) as caught:
        crm.lead("rep_east", mobile=number)
    assert caught.value.details[0]["field"] == "mobile"
    assert "not a valid phone number" in caught.value.details[0]["message"]
