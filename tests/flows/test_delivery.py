"""Outbox deliveries through the worker: email to a real SMTP server (aiosmtpd), WeCom group
robots and signed webhooks to a real local HTTP server; failures retried, settings missing."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import http.server
import json
import socket
import threading

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from trellis.flows import delivery
from trellis.flows.tables import job_table
from trellis.flows.worker import Worker
from trellis.runtime.database import begin_write
from trellis.runtime.platform_runtime import Runtime

T = dt.datetime(2026, 3, 10, 2, 30, tzinfo=dt.UTC)


@pytest.fixture
def rt(database_url):
    runtime = Runtime(database_url)
    runtime.metadata.init_database()
    try:
        yield runtime
    finally:
        runtime.dispose()


def enqueue(rt, send, *args, **kwargs) -> None:
    with begin_write(rt.engine) as conn:
        ctx = rt.flows.context(conn, None, T, cause="test")
        send(conn, ctx, *args, **kwargs)


def the_job(rt) -> dict:
    with rt.engine.connect() as conn:
        return dict(
            conn.execute(sa.select(job_table).order_by(job_table.c.id.desc())).mappings().first()
        )


def run(rt, at=T) -> int:
    return Worker(rt, name="w").run_once(at)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- email -------------------------------------------------------------------------------------


class Mailbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, mailbox
    finally:
        controller.stop()


def smtp_config(port: int) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_FROM": "销售系统 <crm@acme.cn>"}


def test_an_email_arrives_as_utf8_plain_text_with_a_chinese_subject(rt, smtp):
    controller, mailbox = smtp
    rt.flows.config = smtp_config(controller.port)
    subject, body = (
        "商机「华东项目」已停滞 7 天",
        "请尽快跟进：\n客户 杭州某某科技有限公司，金额 ¥120,000",
    )
    enqueue(rt, delivery.enqueue_email, "rep@acme.cn", subject, body, key="notify:abc:email:5")

    assert run(rt) == 1
    (envelope,) = mailbox.envelopes
    assert envelope.rcpt_tos == ["rep@acme.cn"] and envelope.mail_from == "crm@acme.cn"
    raw = envelope.original_content
    assert raw.isascii()  # headers encoded (RFC 2047), body transfer-encoded
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == subject
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    # Text travels in MIME's canonical form, lines ending in CRLF.
    assert message.get_content().replace("\r\n", "\n").rstrip("\n") == body
    assert str(message["From"]) == "销售系统 <crm@acme.cn>"
    digest = hashlib.sha256(b"notify:abc:email:5").hexdigest()[:32]
    assert message["Message-ID"] == f"<{digest}@acme.cn>"  # the same on a resend
    assert the_job(rt)["status"] == "done"


def test_without_smtp_settings_an_email_is_skipped_with_a_note(rt):
    rt.flows.config = {}
    enqueue(rt, delivery.enqueue_email, "rep@acme.cn", "标题", "正文", key="k1")
    assert run(rt) == 1
    job = the_job(rt)
    assert job["status"] == "done"
    assert "SMTP is not configured" in job["last_error"]
    assert "TRELLIS_SMTP_HOST" in job["last_error"] and "rep@acme.cn" in job["last_error"]


def test_a_mail_server_that_is_down_means_a_retry_later(rt):
    port = free_port()  # nothing listens there
    rt.flows.config = smtp_config(port)
    enqueue(rt, delivery.enqueue_email, "rep@acme.cn", "标题", "正文", key="k1")
    assert run(rt) == 0
    job = the_job(rt)
    assert (job["status"], job["attempts"]) == ("pending", 1)
    assert job["last_error"].startswith(f"DeliveryError: mail server 127.0.0.1:{port}")
    assert job["due_at"] == (T + dt.timedelta(seconds=30)).replace(tzinfo=None)


# -- HTTP: WeCom robots and webhooks ---------------------------------------------------------


class Receiver(http.server.ThreadingHTTPServer):
    """Records each POST; answers with the next of ``answers`` (then 200 and errcode 0)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict, bytes]] = []
        self.answers: list[tuple[int, dict, dict]] = []

    def url(self, path="/hook") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, dict(self.headers), body))
        status, answer, headers = (
            self.server.answers.pop(0) if self.server.answers else (200, {"errcode": 0}, {})
        )
        data = json.dumps(answer).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_wecom_robot_gets_a_text_message(rt, receiver):
    rt.flows.config = {"WECOM_ROBOTS": {"sales": receiver.url("/cgi-bin/webhook/send?key=K1")}}
    enqueue(rt, delivery.enqueue_wecom, "sales", "商机停滞\n华东项目 7 天未跟进", key="w1")
    assert run(rt) == 1
    ((path, headers, body),) = receiver.requests
    assert path == "/cgi-bin/webhook/send?key=K1"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == {
        "msgtype": "text",
        "text": {"content": "商机停滞\n华东项目 7 天未跟进"},
    }


def test_a_long_wecom_message_is_cut_to_the_robot_s_2048_bytes(rt, receiver):
    rt.flows.config = {"WECOM_ROBOTS": {"sales": receiver.url()}}
    enqueue(rt, delivery.enqueue_wecom, "sales", "长" * 1000, key="w1")
    run(rt)
    content = json.loads(receiver.requests[0][2])["text"]["content"]
    assert len(content.encode()) <= 2048 and content.startswith("长" * 600)
    assert content.endswith("…")


def test_a_wecom_refusal_is_retried_and_names_the_robot_not_its_key(rt, receiver):
    rt.flows.config = {"WECOM_ROBOTS": {"sales": receiver.url("/send?key=SECRET-KEY")}}
    receiver.answers.append((200, {"errcode": 45009, "errmsg": "api freq out of limit"}, {}))
    enqueue(rt, delivery.enqueue_wecom, "sales", "hi", key="w1")
    assert run(rt) == 0
    job = the_job(rt)
    assert job["status"] == "pending"
    assert (
        "WeCom robot 'sales' refused the message: 45009 api freq out of limit" in job["last_error"]
    )
    assert "SECRET-KEY" not in job["last_error"]
    assert run(rt, T + dt.timedelta(seconds=30)) == 1
    assert len(receiver.requests) == 2


def test_a_robot_that_is_not_configured_says_where_to_add_it(rt):
    rt.flows.config = {"WECOM_ROBOTS": {"service": "http://127.0.0.1:9/x"}}
    enqueue(rt, delivery.enqueue_wecom, "sales", "hi", key="w1")
    run(rt)
    error = the_job(rt)["last_error"]
    assert "WeCom robot 'sales' is not configured; add it to WECOM_ROBOTS" in error
    assert "(configured: service)" in error


def test_a_webhook_is_signed_with_the_named_secret(rt, receiver):
    rt.flows.config = {"WEBHOOK_SECRETS": {"erp": "top-secret"}}
    record = {"id": 42, "company_name": "杭州某某有限公司", "amount": "120000.00"}
    enqueue(rt, delivery.enqueue_webhook, receiver.url(), "erp", record, key="lead:42:v3")
    assert run(rt) == 1
    ((_, headers, body),) = receiver.requests
    assert json.loads(body) == record
    expected = hmac.new(b"top-secret", body, hashlib.sha256).hexdigest()
    assert headers["X-Trellis-Signature"] == f"sha256={expected}"
    assert headers["X-Trellis-Delivery"] == "lead:42:v3"


def test_a_webhook_without_a_secret_is_not_signed(rt, receiver):
    enqueue(rt, delivery.enqueue_webhook, receiver.url(), None, {"id": 1}, key="k")
    assert run(rt) == 1
    assert "X-Trellis-Signature" not in receiver.requests[0][1]


@pytest.mark.parametrize(
    "answer, reason",
    [
        ((500, {}, {}), "answered HTTP 500"),
        ((302, {}, {"Location": "http://127.0.0.1:9/elsewhere"}), "answered HTTP 302"),
    ],
)
def test_a_webhook_answered_with_an_error_or_redirect_is_retried(rt, receiver, answer, reason):
    rt.flows.config = {"WEBHOOK_SECRETS": {"erp": "s"}}
    receiver.answers.append(answer)
    enqueue(
        rt, delivery.enqueue_webhook, receiver.url("/hook?token=abc"), "erp", {"id": 1}, key="k"
    )
    assert run(rt) == 0
    job = the_job(rt)
    assert job["status"] == "pending"
    assert job["last_error"] == f"DeliveryError: webhook {receiver.url()} {reason}"
    assert run(rt, T + dt.timedelta(seconds=30)) == 1
    assert len(receiver.requests) == 2  # the redirect was not followed


def test_a_webhook_secret_that_is_not_configured_fails_until_dead(rt, receiver):
    rt.flows.config = {"WEBHOOK_SECRETS": {}}
    enqueue(rt, delivery.enqueue_webhook, receiver.url(), "erp", {"id": 1}, key="k")
    at = T
    for _ in range(5):
        run(rt, at)
        at += dt.timedelta(hours=1)
    job = the_job(rt)
    assert job["status"] == "dead"
    assert "webhook secret 'erp' is not configured; add it to WEBHOOK_SECRETS" in job["last_error"]
    assert receiver.requests == []


def test_a_delivery_key_is_delivered_once_even_if_enqueued_twice(rt, receiver):
    for _ in range(2):
        enqueue(rt, delivery.enqueue_webhook, receiver.url(), None, {"id": 1}, key="same")
    assert run(rt) == 2
    assert len(receiver.requests) == 1
    assert "already delivered" in the_job(rt)["last_error"]


def test_a_webhook_url_must_be_http(rt):
    with pytest.raises(ValueError, match="starts with https:// or http://"):
        enqueue(rt, delivery.enqueue_webhook, "file:///etc/passwd", None, {}, key="k")


# -- settings ----------------------------------------------------------------------------------


def test_delivery_settings_come_from_trellis_cfg_and_the_environment(monkeypatch, tmp_path):
    from trellis.config import flow_settings, load_config

    (tmp_path / "trellis.cfg").write_text(
        'SMTP_HOST = "mail.internal"\nWEBHOOK_SECRETS = {"erp": "from-file"}\n', "utf-8"
    )
    monkeypatch.setenv("TRELLIS_SECRET_KEY", "x")
    monkeypatch.setenv("TRELLIS_SMTP_PORT", "2525")
    monkeypatch.setenv("TRELLIS_SMTP_STARTTLS", "true")
    monkeypatch.setenv("TRELLIS_WECOM_ROBOTS", '{"sales": "https://qyapi.example/send?key=1"}')
    settings = flow_settings(load_config(str(tmp_path)))
    assert settings["SMTP_HOST"] == "mail.internal" and settings["SMTP_PORT"] == 2525
    assert settings["SMTP_STARTTLS"] is True and settings["SMTP_USER"] is None
    assert settings["WECOM_ROBOTS"] == {"sales": "https://qyapi.example/send?key=1"}
    assert settings["WEBHOOK_SECRETS"] == {"erp": "from-file"}

    monkeypatch.setenv("TRELLIS_WECOM_ROBOTS", "sales=https://x")
    with pytest.raises(ValueError, match="TRELLIS_WECOM_ROBOTS must be a JSON object"):
        load_config(str(tmp_path))
    monkeypatch.setenv("TRELLIS_WECOM_ROBOTS", '["https://x"]')
    with pytest.raises(ValueError, match="WECOM_ROBOTS must map names to text"):
        load_config(str(tmp_path))
