"""The outbox: email, WeCom group robots and signed webhooks, sent by the worker.

A flow never talks to the outside world inside a user's write. It enqueues a
delivery job in the write's transaction (so the job exists exactly when the
write committed); the worker sends it later and retries with backoff when the
other side is down. Each delivery carries a key: the handler writes the
done-marker ``delivered:<key>`` in the job's transaction, so a second job with
the same key sends nothing. A worker dying after sending but before its commit
sends once more on the retry (at least once, never silently lost); the key
travels along (``X-Trellis-Delivery``, the email's ``Message-ID``) so the
receiver can recognise the repeat.

Settings come from ``FlowEngine.config`` (see ``trellis.config``): without
``SMTP_HOST`` an email job is skipped and ends ``done`` with a note in
``last_error``, so a development install without a mail server works; a
WeCom robot or webhook secret that is named but not configured is an error,
retried and finally dead, so an admin sees it and can retry after fixing it.
"""

from __future__ import annotations

import email.policy
import email.utils
import functools
import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa

from trellis.config import FLOW_DEFAULTS
from trellis.flows.jobs import JobSkipped, mark_once, schedule
from trellis.runtime.context import Context

#: Seconds to wait for a mail server or an HTTP endpoint.
TIMEOUT = 10
#: WeCom refuses text messages longer than 2048 bytes.
WECOM_MAX_BYTES = 2048


class DeliveryError(Exception):
    """The other side refused the delivery or could not be reached; the job is retried."""


def attach(flows) -> None:
    """Register the delivery job kinds with the flow engine ``flows``."""
    flows.register_job("deliver_email", functools.partial(_deliver_email, flows))
    flows.register_job("deliver_wecom", functools.partial(_deliver_wecom, flows))
    flows.register_job("deliver_webhook", functools.partial(_deliver_webhook, flows))


# -- enqueueing (inside the caller's transaction) ----------------------------------------


def enqueue_email(
    conn: sa.Connection, ctx: Context, to: str, subject: str, body: str, *, key: str
) -> None:
    """Send a plain-text email to ``to`` once the caller's transaction commits."""
    payload = {"to": to, "subject": subject, "body": body, "key": key}
    schedule(conn, "deliver_email", payload, ctx.stamp, now=ctx.stamp)


def enqueue_wecom(conn: sa.Connection, ctx: Context, robot: str, content: str, *, key: str) -> None:
    """Post ``content`` to the WeCom group robot named ``robot`` in ``WECOM_ROBOTS``."""
    payload = {"robot": robot, "content": _cut_bytes(content, WECOM_MAX_BYTES), "key": key}
    schedule(conn, "deliver_wecom", payload, ctx.stamp, now=ctx.stamp)


def enqueue_webhook(
    conn: sa.Connection, ctx: Context, url: str, secret: str | None, body: dict, *, key: str
) -> None:
    """POST ``body`` as JSON to ``url``, signed with the secret named ``secret``.

    Headers: ``X-Trellis-Delivery: <key>`` and, with a secret,
    ``X-Trellis-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>``.
    """
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"a webhook URL starts with https:// or http://, not {url[:40]!r}")
    payload = {"url": url, "secret": secret, "body": body, "key": key}
    schedule(conn, "deliver_webhook", payload, ctx.stamp, now=ctx.stamp)


# -- job handlers (run by the worker) ------------------------------------------------------


def _deliver_email(flows, conn: sa.Connection, ctx: Context, payload: dict[str, Any]) -> None:
    settings = {**FLOW_DEFAULTS, **flows.config}
    if not settings["SMTP_HOST"]:
        raise JobSkipped(
            f"not sent to {payload['to']}: SMTP is not configured "
            "(set TRELLIS_SMTP_HOST, or SMTP_HOST in the instance's trellis.cfg)"
        )
    _first_delivery(conn, ctx, payload)
    message = email_message(settings["SMTP_FROM"], payload, ctx)
    host, port = settings["SMTP_HOST"], int(settings["SMTP_PORT"])
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT) as smtp:
            if settings["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if settings["SMTP_USER"]:
                smtp.login(settings["SMTP_USER"], settings["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"mail server {host}:{port}: {exc}") from exc


def email_message(sender: str, payload: dict[str, Any], ctx: Context) -> EmailMessage:
    """The email of a delivery job: UTF-8 plain text, its Message-ID made from the key."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = email.utils.format_datetime(ctx.now)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "trellis.invalid"
    digest = hashlib.sha256(payload["key"].encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}@{domain}>"
    # base64: arrives intact through any mail server, 8BITMIME or not.
    message.set_content(payload["body"], charset="utf-8", cte="base64")
    return message


def _deliver_wecom(flows, conn: sa.Connection, ctx: Context, payload: dict[str, Any]) -> None:
    name = payload["robot"]
    robots = flows.config.get("WECOM_ROBOTS") or {}
    if name not in robots:
        raise DeliveryError(
            f"WeCom robot {name!r} is not configured; add it to WECOM_ROBOTS "
            f"(configured: {', '.join(sorted(robots)) or 'none'})"
        )
    _first_delivery(conn, ctx, payload)
    data = json.dumps(
        {"msgtype": "text", "text": {"content": payload["content"]}}, ensure_ascii=False
    ).encode()
    # The robot's URL holds its key: errors name the robot, never the URL.
    answer = _post(robots[name], data, {}, what=f"WeCom robot {name!r}")
    try:
        reply = json.loads(answer or b"{}")
    except ValueError:
        raise DeliveryError(f"WeCom robot {name!r} answered something that is not JSON") from None
    if reply.get("errcode", 0) != 0:
        raise DeliveryError(
            f"WeCom robot {name!r} refused the message: {reply.get('errcode')} "
            f"{str(reply.get('errmsg', ''))[:200]}"
        )


def _deliver_webhook(flows, conn: sa.Connection, ctx: Context, payload: dict[str, Any]) -> None:
    data = json.dumps(payload["body"], ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"X-Trellis-Delivery": payload["key"]}
    if payload.get("secret"):
        headers["X-Trellis-Signature"] = signature(_secret(flows, payload["secret"]), data)
    _first_delivery(conn, ctx, payload)
    _post(payload["url"], data, headers, what=f"webhook {_without_query(payload['url'])}")


def signature(secret: str, data: bytes) -> str:
    """The ``X-Trellis-Signature`` value of a webhook body: ``sha256=<hex HMAC>``."""
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def _secret(flows, name: str) -> str:
    secrets = flows.config.get("WEBHOOK_SECRETS") or {}
    if name not in secrets:
        raise DeliveryError(
            f"webhook secret {name!r} is not configured; add it to WEBHOOK_SECRETS "
            f"(configured: {', '.join(sorted(secrets)) or 'none'})"
        )
    return secrets[name]


def _first_delivery(conn: sa.Connection, ctx: Context, payload: dict[str, Any]) -> None:
    """Claim the delivery's key in the job's transaction; skip a delivery already made."""
    if not mark_once(conn, f"delivered:{payload['key']}", ctx.stamp):
        raise JobSkipped(f"already delivered (key {payload['key']})")


# -- HTTP --------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx: the POST is not repeated elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, data: bytes, headers: dict[str, str], *, what: str) -> bytes:
    """POST JSON ``data``; the answer's body, or DeliveryError for non-2xx or no answer."""
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Trellis",
            **headers,
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            return response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{what} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{what} could not be reached: {reason}") from None


def _without_query(url: str) -> str:
    """The URL to show in errors: its query string or user part may hold a token."""
    parts = urllib.parse.urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"  # no user:password@ either


def _cut_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"
