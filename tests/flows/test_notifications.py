"""Notifications: in-app rows, email and WeCom through the outbox, dedupe keys, reading and
marking one's own; and the plain-text templates their messages are filled from."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from trellis.flows import templates
from trellis.flows.tables import job_table, notification_table
from trellis.flows.worker import Worker
from trellis.runtime.database import begin_write
from trellis.runtime.errors import BadRequest, NotFound
from trellis.runtime.system_tables import user_table

T = dt.datetime(2026, 3, 10, 2, 30, tzinfo=dt.UTC)


def send(crm, usernames, title="商机停滞", body="请跟进", **kwargs):
    ids = [crm.user_id(u) for u in usernames]
    with begin_write(crm.rt.engine) as conn:
        ctx = crm.rt.flows.context(conn, None, T, cause="automation:opportunity.stale")
        crm.rt.flows.notifications.send(conn, ctx, ids, title, body, **kwargs)


def jobs_of(crm, kind):
    with crm.rt.engine.connect() as conn:
        rows = conn.execute(sa.select(job_table).where(job_table.c.kind == kind))
        return [dict(r) for r in rows.mappings()]


def set_email(crm, username, address):
    with begin_write(crm.rt.engine) as conn:
        conn.execute(
            sa.update(user_table).where(user_table.c.username == username).values(email=address)
        )


def test_in_app_notifications_reach_each_active_recipient_once(crm):
    with begin_write(crm.rt.engine) as conn:
        conn.execute(
            sa.update(user_table).where(user_table.c.username == "finance").values(is_active=False)
        )
    send(
        crm,
        ["rep_east", "manager", "rep_east", "finance"],
        title="商机\n「华东项目」\x07停滞",
        body="第一行\n第二行\x1b[31m",
        object_name="opportunity",
        record_id=7,
        source="automation:opportunity.stale",
    )
    service = crm.rt.flows.notifications
    rep = crm.ctx("rep_east")
    (mine,) = service.list(rep)["notifications"]
    assert mine["title"] == "商机 「华东项目」停滞"  # one line, no control characters
    assert mine["body"] == "第一行\n第二行[31m"
    assert (mine["object"], mine["record_id"]) == ("opportunity", 7)
    assert mine["source"] == "automation:opportunity.stale"
    assert mine["created_at"] == "2026-03-10T10:30:00+08:00" and mine["read"] is False
    assert service.unread_count(crm.ctx("manager")) == 1
    assert service.unread_count(crm.ctx("vp")) == 0
    with crm.rt.engine.connect() as conn:
        finance = conn.execute(
            sa.select(sa.func.count())
            .select_from(notification_table)
            .where(notification_table.c.user_id == crm.user_id("finance"))
        ).scalar()
    assert finance == 0  # deactivated users are left out


def test_a_user_reads_and_marks_only_their_own(crm):
    send(crm, ["rep_east"], title="one")
    send(crm, ["rep_east"], title="two")
    send(crm, ["manager"], title="not yours")
    service = crm.rt.flows.notifications
    rep = crm.ctx("rep_east")
    two, one = service.list(rep)["notifications"]
    theirs = service.list(crm.ctx("manager"))["notifications"][0]

    with pytest.raises(NotFound):
        service.get(rep, theirs["id"])
    assert service.mark_read(rep, [theirs["id"]]) == 0
    assert service.unread_count(crm.ctx("manager")) == 1

    assert service.mark_read(rep, [one["id"]]) == 1
    assert service.mark_read(rep, [one["id"]]) == 0  # already read
    assert [n["title"] for n in service.list(rep, unread_only=True)["notifications"]] == ["two"]
    assert service.mark_read(rep) == 1
    assert service.unread_count(rep) == 0
    assert service.get(rep, two["id"])["read"] is True


def test_the_list_pages_newest_first_with_a_cursor(crm):
    for n in range(5):
        send(crm, ["rep_east"], title=f"n{n}")
    service, rep = crm.rt.flows.notifications, crm.ctx("rep_east")
    page = service.list(rep, limit=2)
    titles = [n["title"] for n in page["notifications"]]
    while page["next_cursor"]:
        page = service.list(rep, limit=2, cursor=page["next_cursor"])
        titles += [n["title"] for n in page["notifications"]]
    assert titles == ["n4", "n3", "n2", "n1", "n0"]
    with pytest.raises(BadRequest, match="limit must be"):
        service.list(rep, limit=0)
    with pytest.raises(BadRequest, match="cursor"):
        service.list(rep, cursor="abc")


def test_a_dedupe_key_notifies_once_and_only_once_committed(crm):
    send(crm, ["rep_east"], channels=("in_app", "wecom"), wecom_robot="sales", dedupe_key="d1")
    send(crm, ["rep_east"], channels=("in_app", "wecom"), wecom_robot="sales", dedupe_key="d1")
    assert crm.rt.flows.notifications.unread_count(crm.ctx("rep_east")) == 1
    assert len(jobs_of(crm, "deliver_wecom")) == 1

    # An effect that rolls back takes its dedupe marker with it: the retry notifies.
    with pytest.raises(RuntimeError), begin_write(crm.rt.engine) as conn:
        ctx = crm.rt.flows.context(conn, None, T, cause="test")
        crm.rt.flows.notifications.send(conn, ctx, [crm.user_id("vp")], "t", "b", dedupe_key="d2")
        raise RuntimeError("the effect failed after notifying")
    assert crm.rt.flows.notifications.unread_count(crm.ctx("vp")) == 0
    send(crm, ["vp"], dedupe_key="d2")
    assert crm.rt.flows.notifications.unread_count(crm.ctx("vp")) == 1


def test_email_goes_to_each_recipient_with_an_address_through_the_worker(crm):
    class Mailbox:
        def __init__(self):
            self.envelopes = []

        async def handle_DATA(self, server, session, envelope):
            self.envelopes.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        crm.rt.flows.config = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port}
        set_email(crm, "rep_east", "rep.east@acme.cn")
        set_email(crm, "manager", "manager@acme.cn")
        set_email(crm, "vp", None)
        send(
            crm,
            ["rep_east", "manager", "vp"],
            title="报价待审批",
            body="报价 Q-001 需要您审批",
            channels=("email",),
        )
        assert len(jobs_of(crm, "deliver_email")) == 2  # vp has no address
        assert crm.rt.flows.notifications.unread_count(crm.ctx("rep_east")) == 0  # no in_app
        assert Worker(crm.rt, name="w").run_once(T) == 2
    finally:
        controller.stop()
    received = {e.rcpt_tos[0]: e for e in mailbox.envelopes}
    assert set(received) == {"rep.east@acme.cn", "manager@acme.cn"}
    message = email.message_from_bytes(
        received["manager@acme.cn"].original_content, policy=email.policy.default
    )
    assert message["Subject"] == "报价待审批"
    assert "报价 Q-001 需要您审批" in message.get_content()


def test_wecom_posts_once_per_call_whatever_the_recipients(crm):
    send(
        crm, ["rep_east", "manager"], title="T", body="B", channels=("wecom",), wecom_robot="sales"
    )
    (job,) = jobs_of(crm, "deliver_wecom")
    assert job["payload"]["robot"] == "sales" and job["payload"]["content"] == "T\nB"


def test_channels_are_checked(crm):
    with pytest.raises(ValueError, match="unknown notification channel"):
        send(crm, ["rep_east"], channels=("sms",))
    with pytest.raises(ValueError, match="wecom channel needs wecom_robot"):
        send(crm, ["rep_east"], channels=("wecom",))


# -- templates ---------------------------------------------------------------------------------


def test_placeholders_are_filled_with_display_text():
    values = {
        "name": "华东项目",
        "amount": Decimal("120000.50"),
        "closed": False,
        "due": dt.datetime(2026, 3, 10, 2, 30),  # stored: naive UTC
        "on": dt.date(2026, 3, 9),
        "account": {"account_name": "杭州某某有限公司", "grade": "A"},
        "owner": {"id": 5, "name": "张三"},
        "tags": ["重点", "续约"],
        "empty": None,
    }
    text = templates.render(
        "商机 {name}（{account.account_name}，{account.grade} 级）金额 {amount}，"
        "结束 {closed}，到期 {due} / {on}，负责人 {owner}，{tags}{empty}",
        values,
        zone=ZoneInfo("Asia/Shanghai"),
    )
    assert text == (
        "商机 华东项目（杭州某某有限公司，A 级）金额 120000.50，"
        "结束 否，到期 2026-03-10 10:30 / 2026-03-09，负责人 张三，重点、续约"
    )
    assert templates.render("closed: {closed}", values, locale="en") == "closed: No"
    assert templates.render("{account.grade}", {"account.grade": "B"}) == "B"


def test_unknown_placeholders_stay_and_nothing_is_evaluated():
    values = {"name": "{secret} {{x}}", "secret": "leak"}
    assert templates.render("{name} {missing} {account.x} {{literal}}", values) == (
        "{secret} {{x}} {missing} {account.x} {literal}"
    )
    assert templates.render("{name.__class__} {0} {name!r}", values) == (
        "{name.__class__} {0} {name!r}"
    )


def test_rendered_text_is_cleaned_and_capped():
    text = templates.render("{a}", {"a": "x\u202eevil\x00" + "长" * 5000})
    assert "\u202e" not in text and "\x00" not in text
    assert len(text) == templates.MAX_BODY and text.endswith("…")
    assert templates.title("a\n\tb  c" + "d" * 400).startswith("a b c")
    assert len(templates.title("d" * 400)) == templates.MAX_TITLE
