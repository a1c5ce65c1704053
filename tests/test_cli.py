"""The trellis command line: what `make run` relies on, on both databases."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from trellis.cli import main
from trellis.flows import jobs
from trellis.flows.tables import job_table
from trellis.runtime.database import begin_write
from trellis.runtime.platform_runtime import Runtime

TRELLIS = Path(sys.executable).with_name("trellis")


@pytest.fixture
def cli(database_url, tmp_path):
    runner = CliRunner()
    env = {
        "TRELLIS_DATABASE_URL": database_url,
        "TRELLIS_INSTANCE_PATH": str(tmp_path / "inst"),
        "TRELLIS_DEMO_PASSWORD": "demo-pass-123",
    }

    def run(*args, ok=True):
        result = runner.invoke(main, list(args), env=env)
        if ok:
            assert result.exit_code == 0, result.output + repr(result.exception)
        return result

    return run


def test_init_and_demo_are_safe_to_repeat(cli):
    first = cli("init")
    assert "pack crm_standard: metadata version 1" in first.output
    again = cli("init")
    assert "unchanged" in again.output
    demo = cli("demo")
    assert "demo data: 1246 records" in demo.output
    assert "rep_east" in demo.output and "demo-pass" not in demo.output
    assert "already exist" in cli("demo").output
    assert "the database matches the definitions" in cli("metadata", "plan").output
    assert cli("pack", "list").output.strip() == "crm_standard 1.0.0"


def test_export_then_import_round_trips(cli, tmp_path):
    cli("init")
    out = tmp_path / "defs"
    assert "wrote" in cli("metadata", "export", str(out)).output
    lead = json.loads((out / "objects" / "lead.json").read_text("utf-8"))
    lead["fields"].append(
        {"api_name": "wechat_id", "type": "text", "label": {"zh-CN": "微信号", "en": "WeChat ID"}}
    )
    lead["label"]["en"] = "Sales lead"
    (out / "objects" / "lead.json").write_text(json.dumps(lead, ensure_ascii=False), "utf-8")
    result = cli("metadata", "import", str(out))
    assert "imported; metadata version 2" in result.output
    cli("metadata", "export", str(tmp_path / "again"))
    again = json.loads((tmp_path / "again" / "objects" / "lead.json").read_text("utf-8"))
    assert again["label"]["en"] == "Sales lead"
    assert again["fields"][-1]["api_name"] == "wechat_id"


def test_history_lists_an_import_and_revert_undoes_it(cli, tmp_path):
    cli("init")
    out = tmp_path / "defs"
    cli("metadata", "export", str(out))
    lead = json.loads((out / "objects" / "lead.json").read_text("utf-8"))
    lead["label"]["en"] = "Sales lead"
    (out / "objects" / "lead.json").write_text(json.dumps(lead, ensure_ascii=False), "utf-8")
    cli("metadata", "import", str(out))
    history = cli("metadata", "history", "--key", "object:lead").output.splitlines()
    assert "cli" in history[0] and "import definitions from defs" in history[0]
    assert history[1].split()[0] == "1" and "install pack crm_standard" in history[1]
    dry = cli("metadata", "revert", "2", "--dry-run").output
    assert "version 2 can be reverted; nothing changed" in dry
    assert "reverted version 2; metadata version 3" in cli("metadata", "revert", "2").output
    cli("metadata", "export", str(tmp_path / "again"))
    again = json.loads((tmp_path / "again" / "objects" / "lead.json").read_text("utf-8"))
    assert again["label"]["en"] == "Lead"
    refused = cli("metadata", "revert", "1", ok=False)
    assert refused.exit_code != 0 and "pack manager" in refused.output


def test_remove_deletes_an_imported_report_and_keeps_the_packs(cli, tmp_path):
    cli("init")
    out = tmp_path / "defs" / "reports"
    out.mkdir(parents=True)
    report = {
        "api_name": "stage_count",
        "object": "opportunity",
        "label": {"zh-CN": "阶段统计", "en": "Stage count"},
        "group_by": [{"field": "stage"}],
        "measures": [{"api_name": "n", "label": {"zh-CN": "数", "en": "N"}, "function": "count"}],
    }
    (out / "stage_count.json").write_text(json.dumps(report, ensure_ascii=False), "utf-8")
    cli("metadata", "import", str(tmp_path / "defs"))
    dry = cli("metadata", "remove", "report", "opportunity.stage_count", "--dry-run").output
    assert "can be removed; nothing changed" in dry
    done = cli("metadata", "remove", "report", "opportunity.stage_count").output
    assert "removed report opportunity.stage_count; metadata version 3" in done
    cli("metadata", "export", str(tmp_path / "after"))
    assert not (tmp_path / "after" / "reports" / "opportunity_stage_count.json").exists()
    refused = cli("metadata", "remove", "report", "opportunity.pipeline_by_stage", ok=False)
    assert refused.exit_code == 1 and "comes with pack crm_standard" in refused.output


def test_bad_definitions_fail_with_every_problem_and_change_nothing(cli, tmp_path):
    cli("init")
    bad = tmp_path / "bad" / "objects"
    bad.mkdir(parents=True)
    (bad / "x.json").write_text(
        json.dumps(
            {
                "api_name": "gadget",
                "label": {"zh-CN": "器", "en": "Gadget"},
                "plural_label": {"zh-CN": "器", "en": "Gadgets"},
                "fields": [
                    {"api_name": "select", "type": "text", "label": {"zh-CN": "a", "en": "a"}},
                    {
                        "api_name": "cost",
                        "type": "formula",
                        "label": {"zh-CN": "b", "en": "b"},
                        "formula": "().__class__",
                        "return_type": "decimal",
                    },
                ],
            }
        ),
        "utf-8",
    )
    result = cli("metadata", "import", str(tmp_path / "bad"), ok=False)
    assert result.exit_code == 1
    assert "field:gadget.select/api_name" in result.output
    assert "field:gadget.cost/formula" in result.output
    assert "Traceback" not in result.output
    assert "the database matches the definitions" in cli("metadata", "plan").output
    export = tmp_path / "after"
    cli("metadata", "export", str(export))
    assert not (export / "objects" / "gadget.json").exists()


def test_unknown_pack_says_what_exists(cli):
    cli("init", "--no-pack")
    result = cli("pack", "install", "no_such_pack", ok=False)
    assert result.exit_code == 1
    assert "crm_standard" in result.output and "pack.json" in result.output


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["demo"],
        ["serve"],
        ["worker"],
        ["pack", "install"],
        ["metadata", "export"],
        ["metadata", "import"],
        ["metadata", "history"],
        ["metadata", "revert"],
        ["metadata", "remove"],
    ],
)
def test_every_command_explains_itself(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) > 3


# -- the worker ----------------------------------------------------------------------------------

#: 2026-03-10 10:30 in Shanghai.
DUE = dt.datetime(2026, 3, 10, 2, 30)


def schedule_job(database_url: str, kind: str, payload: dict, due_at=DUE) -> int:
    rt = Runtime(database_url)
    try:
        with begin_write(rt.engine) as conn:
            return jobs.schedule(conn, kind, payload, due_at, now=due_at)
    finally:
        rt.dispose()


def job_status(database_url: str, job_id: int) -> dict:
    rt = Runtime(database_url)
    try:
        with rt.engine.connect() as conn:
            return dict(
                conn.execute(sa.select(job_table).where(job_table.c.id == job_id)).mappings().one()
            )
    finally:
        rt.dispose()


def test_worker_once_runs_what_is_due_at_a_company_time(cli, database_url):
    cli("init", "--no-pack")
    # Without SMTP settings an email job is skipped: done, with a note saying why.
    job_id = schedule_job(database_url, "deliver_email", {"to": "a@acme.cn", "key": "k"})
    early = cli("worker", "--once", "--as-of", "2026-03-10T10:29", "--name", "cli-test")
    assert "worker cli-test: 0 job(s) done" in early.output
    assert job_status(database_url, job_id)["status"] == "pending"
    due = cli("worker", "--once", "--as-of", "2026-03-10T10:30")
    assert "1 job(s) done" in due.output
    job = job_status(database_url, job_id)
    assert job["status"] == "done" and "SMTP is not configured" in job["last_error"]


def test_worker_as_of_takes_an_explicit_zone_too(cli, database_url):
    cli("init", "--no-pack")
    schedule_job(database_url, "deliver_email", {"to": "a@acme.cn", "key": "k"})
    assert "0 job(s)" in cli("worker", "--once", "--as-of", "2026-03-10T02:29Z").output
    assert "1 job(s)" in cli("worker", "--once", "--as-of", "2026-03-10T02:30+00:00").output


def test_worker_refuses_a_bad_as_of(cli):
    cli("init", "--no-pack")
    bad = cli("worker", "--once", "--as-of", "next tuesday", ok=False)
    assert bad.exit_code == 2 and "not an ISO timestamp" in bad.output
    alone = cli("worker", "--as-of", "2026-03-10T10:30", ok=False)
    assert alone.exit_code == 2 and "--as-of goes with --once" in alone.output
    assert "Asia/Shanghai" in CliRunner().invoke(main, ["worker", "--help"]).output


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TRELLIS_DATABASE_URL": database_url,
        "TRELLIS_INSTANCE_PATH": str(tmp_path / "inst"),
        "TRELLIS_SECRET_KEY": "tests-only",
    }


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(
            [str(TRELLIS), *args], env=env, stdout=output, stderr=subprocess.STDOUT
        )


class _Hooks(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.received = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _HookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()
        self.server.received.set()

    def log_message(self, *args):
        pass


@pytest.fixture
def hooks():
    server = _Hooks()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_a_looping_worker_delivers_and_stops_cleanly_on_sigterm(cli, database_url, tmp_path, hooks):
    cli("init", "--no-pack")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    job_id = schedule_job(
        database_url, "deliver_webhook", {"url": hooks.url, "body": {}, "key": "k"}, now
    )
    log = tmp_path / "worker.log"
    worker = _start(
        ["worker", "--name", "looping", "--poll", "0.1"], _env(database_url, tmp_path), log
    )
    try:
        assert hooks.received.wait(30), log.read_text()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert "worker looping stopped" in log.read_text()
    assert job_status(database_url, job_id)["status"] == "done"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(database_url, tmp_path, *extra) -> tuple[subprocess.Popen, Path]:
    port = _free_port()
    log = tmp_path / f"serve{port}.log"
    server = _start(["serve", "--port", str(port), *extra], _env(database_url, tmp_path), log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            return server, log
        except OSError:
            time.sleep(0.1)
    server.kill()
    server.wait()
    raise AssertionError(f"trellis serve did not answer: {log.read_text()}")


@pytest.mark.slow
@pytest.mark.parametrize("no_worker", [False, True], ids=["with-worker", "no-worker"])
def test_serve_runs_a_worker_unless_told_not_to(cli, database_url, tmp_path, hooks, no_worker):
    cli("init", "--no-pack")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    job_id = schedule_job(
        database_url, "deliver_webhook", {"url": hooks.url, "body": {}, "key": "k"}, now
    )
    server, log = _serve(database_url, tmp_path, *(["--no-worker"] if no_worker else []))
    try:
        delivered = hooks.received.wait(3 if no_worker else 30)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(15)
    assert delivered is not no_worker, log.read_text()
    assert job_status(database_url, job_id)["status"] == ("pending" if no_worker else "done")
