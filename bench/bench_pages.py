"""Benchmark 9: rendering a record page with three related lists.

Trellis: ``GET /o/account/<id>`` through the real app (Flask test client, signed in as
rep_east through the sign-in form): the session, the user's context, the compiled
definitions, the layout (trimmed by an admin to three related lists: contacts,
opportunities, follow-ups, five rows and a count each), field security, lookup names,
field history, the panels and the Jinja2 template.

Baseline: a hand-written Flask view of the same data a developer would write for one
fixed page: Core selects of the account and the three lists with the same owner scope and
limits, the owner names joined, rendered by a small Jinja2 template of the same fields.
Both run in the same process, interleaved in blocks, so machine noise hits both alike.
"""

from __future__ import annotations

import re
import tempfile
import time
from html import unescape

import sqlalchemy as sa
from bench_report import Result, percentile
from flask import Flask, render_template_string

RELATED = ("contact", "opportunity", "follow_up")
ROWS_EACH = 12  # more than the five a related list shows, so the count matters
SHOWN = 5
PASSWORD = "trellis-bench"


def bench_pages(env, requests: int) -> Result:
    account_id = _prepare(env)
    trellis_client = _trellis_client(env)
    baseline_client = _baseline_app(env).test_client()
    trellis_url = f"/o/account/{account_id}"
    baseline_url = f"/account/{account_id}"
    for client, url in ((trellis_client, trellis_url), (baseline_client, baseline_url)):
        _check(client.get(url))
        for _ in range(20):  # warm-up: template compilation, caches, connection pool
            client.get(url)
    ours, theirs = [], []
    block = 10
    for _ in range(max(1, requests // block)):
        ours += _timed(trellis_client, trellis_url, block)
        theirs += _timed(baseline_client, baseline_url, block)
    p50, b50 = percentile(ours, 50), percentile(theirs, 50)
    return Result(
        bench="pages",
        database=env.db.kind,
        measure="record page with 3 related lists, p50",
        trellis=p50 * 1000,
        baseline=b50 * 1000,
        unit="ms",
        ratio=p50 / b50,
        target="p50 < 50 ms",
        passed=p50 < 0.050,
        notes=[
            f"{len(ours)} requests per side; p90 {percentile(ours, 90) * 1000:.1f} ms vs "
            f"{percentile(theirs, 90) * 1000:.1f} ms",
            "GET /o/account/<id> as rep_east vs a hand-written Flask view of the same data",
        ],
    )


def _timed(client, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        response = client.get(url)
        out.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
    return out


def _check(response) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:500]
    newest = f"基准联系人{ROWS_EACH - 1}"
    assert "基准客户有限公司" in body and newest in body, "the page lacks the data"


def _prepare(env) -> int:
    """An account of rep_east's with 12 contacts, opportunities and follow-ups each."""
    rt, rep = env.runtime, env.rep
    layout = rt.metadata.definition("layout", "account.standard")
    layout["related_lists"] = [
        r for r in layout["related_lists"] if r["object"] in RELATED and r["via"] == "account"
    ]
    assert len(layout["related_lists"]) == 3, layout["related_lists"]
    rt.metadata.define("bench", "layout", layout)
    account = rt.records.create(rep, "account", {"account_name": "基准客户有限公司"}).record
    for i in range(ROWS_EACH):
        rt.records.create(
            rep,
            "contact",
            {
                "contact_name": f"基准联系人{i}",
                "account": account["id"],
                "email": f"bench{i}@example.com",
                "mobile": "13800000000",
            },
        )
        rt.records.create(
            rep, "opportunity", {"opportunity_name": f"基准商机{i}", "account": account["id"]}
        )
        rt.records.create(rep, "follow_up", {"subject": f"基准跟进{i}", "account": account["id"]})
    return account["id"]


def _trellis_client(env):
    import os

    from trellis.runtime.app import create_app

    os.environ.setdefault("TRELLIS_SECRET_KEY", "bench-only-secret")
    os.environ["TRELLIS_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="trellis-bench-instance-")
    app = create_app({"DATABASE_URL": env.db.url})
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = unescape(re.search(r'name="csrf_token" value="([^"]+)"', page).group(1))
    signed = client.post(
        "/sign-in", data={"csrf_token": token, "username": "rep_east", "password": PASSWORD}
    )
    assert signed.status_code == 302, signed.get_data(as_text=True)[:300]
    return client


BASELINE_TEMPLATE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{{ account.account_name }}</title></head><body>
<h1>{{ account.account_name }}</h1>
<dl>{% for name, value in account.items() %}<dt>{{ name }}</dt><dd>{{ value }}</dd>{% endfor %}</dl>
{% for title, rows, total in related %}
<section><h2>{{ title }} ({{ total }})</h2><table>
{% for row in rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}
</table></section>
{% endfor %}
</body></html>"""


def _baseline_app(env) -> Flask:
    """The hand-written page: fixed columns, the owner scope, limits and counts in Core."""
    engine = env.engine
    meta = sa.MetaData()
    tables = {
        name: sa.Table(f"rec_{name}", meta, autoload_with=engine) for name in ("account", *RELATED)
    }
    users = sa.Table("trellis_user", meta, autoload_with=engine)
    rep_id = env.users["rep_east"][0]
    columns = {
        "contact": ("contact_name", "title", "mobile", "email", "role_in_deal"),
        "opportunity": ("opportunity_name", "stage", "amount", "expected_close_date", "owner"),
        "follow_up": ("subject", "follow_up_type", "occurred_at", "owner"),
    }
    app = Flask("baseline")

    @app.get("/account/<int:record_id>")
    def account_page(record_id: int):
        a = tables["account"]
        with engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(a, users.c.display_name.label("owner_name"))
                    .join(users, users.c.id == a.c.owner)
                    .where(a.c.id == record_id, a.c.owner == rep_id)
                )
                .mappings()
                .first()
            )
            if row is None:
                return "not found", 404
            related = []
            for name in RELATED:
                t = tables[name]
                scope = sa.and_(t.c.account == record_id, t.c.owner == rep_id)
                rows = conn.execute(
                    sa.select(*(t.c[c] for c in columns[name]))
                    .where(scope)
                    .order_by(t.c.id.desc())
                    .limit(SHOWN)
                ).all()
                total = conn.execute(sa.select(sa.func.count()).where(scope)).scalar_one()
                related.append((name, rows, total))
        return render_template_string(BASELINE_TEMPLATE, account=dict(row), related=related)

    return app
