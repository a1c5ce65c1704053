"""Benchmark 10: an admin's layout change, from the designer's Save to a business page.

Two real ``trellis serve`` processes share one database, as two app servers behind a
load balancer would. The admin saves the lead layout in the form designer on server A
(``POST /admin/layouts/lead.standard``, the form the designer's page sends, renaming the
first section); a sales rep reloads a lead's record page on server B until the new
section name shows. Measured per save:

* **save round trip**: the designer's POST until its answer (the metadata API's checks,
  the new version stored, the redirect);
* **visible elsewhere**: from the start of the save until server B's page shows the change
  (B's compiled metadata notices the new version on its next request).

Baseline: the same two steps hand-written: a Flask view on a server A' that UPDATEs the
section name in a one-row table with Core, and a Flask view on a server B' that SELECTs it
and renders a page; the same HTTP client drives both.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

from bench_report import Result, percentile

HERE = Path(__file__).resolve().parent
PASSWORD = "trellis-bench"
LAYOUT = "lead.standard"
TIMEOUT = 10.0  # seconds a change may take to show before the run stops


def bench_admin(env, saves: int) -> list[Result]:
    lead = env.runtime.records.create(
        env.rep, "lead", {"company_name": "基准布局客户", "email": "layout@bench.example.com"}
    ).record
    with _Servers(env.db.url) as servers:
        designer, business = servers.trellis()
        admin, rep = _Client(designer), _Client(business)
        admin.sign_in("admin")
        rep.sign_in("rep_east")
        record = f"/o/lead/{lead['id']}"
        ours = [_layout_change(admin, rep, record, n) for n in range(saves)]
        base_a, base_b = servers.baseline()
        theirs = [_baseline_change(_Client(base_a), _Client(base_b), n) for n in range(saves)]
    return [
        _result("designer save round trip", [o[0] for o in ours], [t[0] for t in theirs], env),
        _result("visible in another process", [o[1] for o in ours], [t[1] for t in theirs], env),
    ]


def _result(measure: str, ours: list[float], theirs: list[float], env) -> Result:
    p50, b50 = percentile(ours, 50), percentile(theirs, 50)
    return Result(
        bench="admin",
        database=env.db.kind,
        measure=f"{measure}, p50",
        trellis=p50 * 1000,
        baseline=b50 * 1000,
        unit="ms",
        ratio=p50 / b50,
        target="< 1 s" if "visible" in measure else "information",
        passed=(max(ours) < 1.0) if "visible" in measure else None,
        notes=[
            f"{len(ours)} saves; p90 {percentile(ours, 90) * 1000:.1f} ms vs "
            f"{percentile(theirs, 90) * 1000:.1f} ms; worst {max(ours) * 1000:.1f} ms",
            "two `trellis serve` processes on one database: the layout designer's POST on "
            "one, the lead record page reloaded on the other",
        ],
    )


def _layout_change(admin, rep, record_url: str, n: int) -> tuple[float, float]:
    """Rename the layout's first section in the designer; time the save and the reload."""
    form = admin.form(f"/admin/layouts/{LAYOUT}", "layout-form")
    layout = json.loads(form["layout"])
    name = f"基准分区{n}"
    layout["sections"][0]["label"] = {"zh-CN": name, "en": f"Bench section {n}"}
    form["layout"] = json.dumps(layout, ensure_ascii=False)
    began = time.perf_counter()
    status, _body = admin.post(f"/admin/layouts/{LAYOUT}", form)
    saved = time.perf_counter()
    assert status in (302, 303), f"the designer refused the save ({status})"
    _wait_for(rep, record_url, name, began)
    return saved - began, time.perf_counter() - began


def _baseline_change(writer, reader, n: int) -> tuple[float, float]:
    name = f"基准分区{n}"
    began = time.perf_counter()
    status, _ = writer.post("/section", {"label": name})
    saved = time.perf_counter()
    assert status == 200, status
    _wait_for(reader, "/page", name, began)
    return saved - began, time.perf_counter() - began


def _wait_for(client, url: str, text: str, began: float) -> None:
    while True:
        status, body = client.get(url)
        assert status == 200, f"{url} answered {status}"
        if text in body:
            return
        if time.perf_counter() - began > TIMEOUT:
            raise AssertionError(f"{text!r} did not show on {url} within {TIMEOUT:.0f} s")


# -- the servers ------------------------------------------------------------


class _Servers:
    """Server processes on free ports, stopped (SIGTERM) when the block ends."""

    def __init__(self, database_url: str):
        self.url = database_url
        self.processes: list[subprocess.Popen] = []
        self.folder = Path(tempfile.mkdtemp(prefix="trellis-bench-admin-"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)

    def trellis(self) -> tuple[str, str]:
        trellis = Path(sys.executable).with_name("trellis")
        return tuple(
            self._start([str(trellis), "serve", "--no-worker", "--port", "{port}"], name)
            for name in ("designer", "business")
        )

    def baseline(self) -> tuple[str, str]:
        script = [sys.executable, str(Path(__file__)), "{port}", self.url]
        return tuple(self._start(script, name) for name in ("baseline-a", "baseline-b"))

    def _start(self, command: list[str], name: str) -> str:
        port = _free_port()
        env = {
            **os.environ,
            "TRELLIS_DATABASE_URL": self.url,
            "TRELLIS_SECRET_KEY": "bench-only-secret",
            "TRELLIS_INSTANCE_PATH": str(self.folder / name),
        }
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [part.replace("{port}", str(port)) for part in command],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base, process, self.folder / f"{name}.log")
        return base


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{base} stopped: {log.read_text(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(base + "/sign-in", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{base} did not start in 60 s")


# -- an HTTP client with cookies and the CSRF token of the forms -------------


class _Client:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict) -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, method="POST"))

    def form(self, path: str, form_id: str) -> dict:
        """The values a browser would send from the page's form ``form_id`` (CSRF included)."""
        status, body = self.get(path)
        assert status == 200, f"{path} answered {status}"
        parser = _FormValues(form_id)
        parser.feed(body)
        return parser.values

    def sign_in(self, username: str) -> None:
        _, page = self.get("/sign-in")
        token = unescape(re.search(r'name="csrf_token" value="([^"]+)"', page).group(1))
        status, _ = self.post(
            "/sign-in", {"csrf_token": token, "username": username, "password": PASSWORD}
        )
        assert status == 302, f"{username} could not sign in ({status})"

    def _open(self, request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 302 after a save is the answer itself; following it would time another page."""

    def redirect_request(self, *args, **kwargs):
        return None


class _FormValues(HTMLParser):
    """Named inputs of the form with id ``form_id``: hidden and text values, ticked boxes."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id = form_id
        self.values: dict[str, str | list[str]] = {}
        self.inside = False
        self.done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.done and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside or tag != "input" or not a.get("name"):
            return
        kind = (a.get("type") or "text").lower()
        if kind in ("checkbox", "radio") and "checked" not in a:
            return
        if kind in ("checkbox",):
            self.values.setdefault(a["name"], [])
            self.values[a["name"]].append(a.get("value") or "on")
        else:
            self.values[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside, self.done = False, True


# -- the hand-written baseline server (run as a script) -----------------------


def _baseline_server(port: int, database_url: str) -> None:
    import sqlalchemy as sa
    from flask import Flask, render_template_string, request
    from werkzeug.serving import run_simple

    engine = sa.create_engine(database_url)
    meta = sa.MetaData()
    table = sa.Table(
        "baseline_section",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
    )
    with engine.begin() as conn:
        meta.create_all(conn)
        if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0:
            conn.execute(sa.insert(table).values(id=1, label="基本信息"))
    app = Flask("baseline")

    @app.get("/sign-in")
    def up():
        return "ok"

    @app.post("/section")
    def save_section():
        with engine.begin() as conn:
            label = request.form["label"]
            conn.execute(sa.update(table).where(table.c.id == 1).values(label=label))
        return "saved"

    @app.get("/page")
    def page():
        with engine.connect() as conn:
            label = conn.execute(sa.select(table.c.label).where(table.c.id == 1)).scalar_one()
        return render_template_string("<section><h2>{{ label }}</h2></section>", label=label)

    run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    _baseline_server(int(sys.argv[1]), sys.argv[2])
