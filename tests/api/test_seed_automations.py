"""The issue's seed scenarios for time-based automations, end to end over the API with the
crm_standard pack as shipped: a lead nobody followed up in 3 days goes back to the lead pool,
and a payment plan still unpaid a day after its planned date alerts the owner, their manager
and finance, by in-app notification and by email through a real local SMTP server. The worker
runs as `trellis worker --once --as-of` would: ``Worker.run_once(as_of)``. Each effect happens
once however often the worker runs."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from trellis.flows.tables import pool_entry_table
from trellis.flows.worker import Worker

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _drain(api, at: dt.datetime) -> int:
    return Worker(api.runtime, name="seed-test").run_once(as_of=at)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _pool_entries(api, object_name: str, record_id: int) -> list:
    with api.runtime.engine.connect() as conn:
        t = pool_entry_table
        return conn.execute(
            sa.select(t.c.pool, t.c.reason).where(
                t.c.object == object_name, t.c.record_id == record_id
            )
        ).all()


def test_a_lead_nobody_follows_up_for_3_days_goes_back_to_its_pool(api):
    lead = api.create(
        "lead", {"company_name": "苏州恒力新材料", "mobile": "13800138001", "region": "east"}
    )
    created = _now()

    _drain(api, created + dt.timedelta(days=2, hours=23))
    assert api.get(f"/objects/lead/records/{lead['id']}").get_json()["record"]["owner"] is not None

    _drain(api, created + dt.timedelta(days=3, minutes=5))
    assert _pool_entries(api, "lead", lead["id"]) == [("east_leads", "recycled")]
    # The rep no longer sees it among their leads; the pool shows it to every member.
    assert api.get(f"/objects/lead/records/{lead['id']}", as_="rep_east").status_code == 404
    listed = api.get("/pools/lead.east_leads/records", as_="rep_east").get_json()
    assert lead["id"] in [e["record"]["id"] for e in listed["entries"]]

    # Catching up again changes nothing: the recycle happened once.
    _drain(api, created + dt.timedelta(days=4))
    assert len(_pool_entries(api, "lead", lead["id"])) == 1

    claimed = api.post(f"/pools/lead.east_leads/records/{lead['id']}/claim", as_="rep_east")
    assert claimed.status_code == 200, claimed.get_json()
    assert _pool_entries(api, "lead", lead["id"]) == []


def test_a_follow_up_logged_in_time_keeps_the_lead(api):
    lead = api.create(
        "lead", {"company_name": "无锡华光涂料", "mobile": "13800138002", "region": "east"}
    )
    created = _now()
    follow_up = api.create(
        "follow_up",
        {
            "subject": "电话沟通需求",
            "follow_up_type": "call",
            "lead": lead["id"],
            "occurred_at": (created + dt.timedelta(days=2)).isoformat(),
        },
    )
    assert follow_up["lead"] == lead["id"]

    # Three days after creation the lead was followed up a day ago: nothing happens ...
    _drain(api, created + dt.timedelta(days=3, minutes=5))
    assert _pool_entries(api, "lead", lead["id"]) == []
    # ... and three days after the follow-up it goes back to the pool.
    _drain(api, created + dt.timedelta(days=5, minutes=5))
    assert _pool_entries(api, "lead", lead["id"]) == [("east_leads", "recycled")]


def test_a_converted_lead_is_not_recycled(api):
    lead = api.create(
        "lead", {"company_name": "常州奥特密封", "mobile": "13800138003", "region": "north"}
    )
    response = api.patch(f"/objects/lead/records/{lead['id']}", json={"status": "qualified"})
    assert response.status_code == 200
    _drain(api, _now() + dt.timedelta(days=10))
    assert _pool_entries(api, "lead", lead["id"]) == []


class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        self.received = threading.Event()
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                mailbox.messages.append(message)
                mailbox.received.set()
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


@pytest.fixture
def mailbox(api):
    box = Mailbox()
    api.runtime.flows.config.update(
        {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": box.port, "SMTP_FROM": "crm@example.cn"}
    )
    yield box
    box.stop()


def test_an_overdue_payment_alerts_owner_manager_and_finance_once(api, mailbox):
    today = _now().astimezone(SHANGHAI).date()
    plan = api.create(
        "payment_plan",
        {
            "plan_name": "华新化工 第2期",
            "planned_date": today.isoformat(),
            "planned_amount": "172000.00",
            "collected_amount": "50000.00",
        },
    )
    due = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0, 5), SHANGHAI)

    _drain(api, due - dt.timedelta(hours=1))
    assert (
        api.get(f"/objects/payment_plan/records/{plan['id']}").get_json()["record"]["is_overdue"]
        is False
    )

    _drain(api, due)
    _drain(api, due)  # the e-mails go out through the outbox, in a later job
    record = api.get(f"/objects/payment_plan/records/{plan['id']}").get_json()["record"]
    assert record["is_overdue"] is True
    for who in ("rep_east", "manager", "finance"):
        listed = api.get("/notifications", as_=who).get_json()["notifications"]
        alerts = [n for n in listed if n["record_id"] == plan["id"]]
        assert len(alerts) == 1, (who, listed)
        assert "华新化工 第2期" in alerts[0]["body"]
    assert api.get("/notifications", as_="vp").get_json()["notifications"] == []

    recipients = sorted(str(m["To"]) for m in mailbox.messages)
    assert len(recipients) == 3, recipients
    assert all("逾期" in str(m["Subject"]) for m in mailbox.messages)

    # Running again, even a day later, alerts no one a second time.
    _drain(api, due + dt.timedelta(days=1))
    assert len(mailbox.messages) == 3
    listed = api.get("/notifications", as_="finance").get_json()["notifications"]
    assert len([n for n in listed if n["record_id"] == plan["id"]]) == 1


def test_a_paid_plan_raises_no_alert(api, mailbox):
    today = _now().astimezone(SHANGHAI).date()
    plan = api.create(
        "payment_plan",
        {
            "plan_name": "华新化工 第3期",
            "planned_date": today.isoformat(),
            "planned_amount": "10000.00",
        },
    )
    paid = api.patch(
        f"/objects/payment_plan/records/{plan['id']}", json={"collected_amount": "10000.00"}
    )
    assert paid.status_code == 200
    _drain(api, _now() + dt.timedelta(days=3))
    assert (
        api.get(f"/objects/payment_plan/records/{plan['id']}").get_json()["record"]["is_overdue"]
        is False
    )
    assert mailbox.messages == []
