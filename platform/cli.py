"""The ``trellis`` command line.

    trellis init                 create the database tables and install the standard CRM
    trellis demo                 add demo users, departments and records (safe to repeat)
    trellis serve                serve the web app and API on 127.0.0.1:5000 (with a worker)
    trellis worker               run due jobs (automations, reminders, deliveries) until stopped
    trellis pack ...             validate, install, upgrade, uninstall, export, diff, test packs
                                 (see trellis/cli_packs.py)
    trellis metadata plan        the DDL the stored definitions still need
    trellis metadata export DIR  write the effective definitions as JSON files
    trellis metadata import DIR  apply JSON definition files as admin changes
    trellis metadata history     the latest changes: version, when, who, what
    trellis metadata revert V    undo the single change V (a new version)
    trellis metadata remove KIND KEY
                                 delete a definition an admin made (report opportunity.x)

The database comes from TRELLIS_DATABASE_URL (default: a SQLite file in the
instance folder, ./instance/trellis.db).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from trellis.runtime.errors import TrellisError

DEMO_PASSWORD_DEFAULT = "trellis-demo"


def _app():
    from trellis.runtime.app import create_app

    return create_app()


def _runtime():
    runtime = _app().extensions["trellis"]
    # Close pooled connections when the command ends (PostgreSQL would otherwise
    # see connections vanish without a goodbye).
    click.get_current_context().call_on_close(runtime.dispose)
    return runtime


def _fail(exc: TrellisError) -> None:
    click.secho(f"error: {exc.message}", fg="red", err=True)
    for detail in exc.details:
        place = detail.get("pointer") or detail.get("field") or detail.get("row") or ""
        click.echo(f"  - {place}: {detail.get('message')}", err=True)
    sys.exit(1)


class _Group(click.Group):
    """Turns Trellis errors into a plain message and exit status 1 instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TrellisError as exc:
            _fail(exc)


@click.group(cls=_Group)
def main():
    """Trellis: a low-code metadata platform (objects, records, REST API, packs)."""


@main.command()
@click.option(
    "--pack",
    "packs",
    multiple=True,
    default=["crm_standard"],
    show_default=True,
    help="Pack to install after creating the tables (repeatable).",
)
@click.option("--no-pack", is_flag=True, help="Create the tables only.")
def init(packs, no_pack):
    """Create Trellis' tables in the database and install the standard CRM pack.

    Safe to run again: existing tables and installed packs are left as they are.
    """
    runtime = _runtime()
    runtime.metadata.init_database()
    click.echo(f"database ready: {_safe_url(runtime.database_url)}")
    for name in () if no_pack else packs:
        result = runtime.metadata.install_pack(name, actor="cli")
        click.echo(
            f"pack {name}: metadata version {result.version or 'unchanged'}, "
            f"{len(result.plan.steps)} schema step(s)"
        )


@main.command()
@click.option(
    "--pack", default="crm_standard", show_default=True, help="The pack whose sample_data/ to load."
)
def demo(pack):
    """Load demo departments, users and records (password from TRELLIS_DEMO_PASSWORD).

    Users are: admin, vp, manager, manager_north, rep_east, rep_north, tech_lead and
    finance. Records are only loaded into an empty database, so running this twice is safe.
    """
    from trellis.metadata.packs import locate
    from trellis.runtime import sample_data

    runtime = _runtime()
    runtime.metadata.init_database()
    if pack not in runtime.metadata.installed_packs():
        runtime.metadata.install_pack(pack, actor="cli")
    folder = locate(pack) / "sample_data"
    password = os.environ.get("TRELLIS_DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)
    created = sample_data.load_org(runtime, folder, password)
    if created:
        count = sample_data.load_records(runtime, folder, "admin")
        click.echo(f"demo data: {count} records")
    else:
        click.echo("demo users already exist; demo records left as they are")
    click.echo(
        "demo logins (password: "
        + (
            "$TRELLIS_DEMO_PASSWORD"
            if "TRELLIS_DEMO_PASSWORD" in os.environ
            else DEMO_PASSWORD_DEFAULT
        )
        + "):"
    )
    for line in _logins(folder):
        click.echo(f"  {line}")


def _logins(folder: Path) -> list[str]:
    org = json.loads((folder / "org.json").read_text("utf-8"))
    return [
        f"{u['username']:<14} {u['display_name']} ({', '.join(u.get('roles', []))})"
        for u in org["users"]
    ]


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=lambda: int(os.environ.get("PORT", 5000)),
    show_default="$PORT or 5000",
    type=int,
    help="Port to listen on.",
)
@click.option(
    "--no-worker",
    is_flag=True,
    help="Do not run due jobs in this process (run `trellis worker` separately).",
)
def serve(host, port, no_worker):
    """Serve the pages and the REST API with a threaded server.

    A worker thread runs due jobs (automations, reminders, deliveries) in the
    same process unless --no-worker is given.
    """
    from werkzeug.serving import run_simple

    from trellis.flows.worker import Worker

    app = _app()
    stop = threading.Event()
    thread = None
    if not no_worker:
        _log_to_stderr()
        worker = Worker(app.extensions["trellis"], name=f"{_worker_name()}/serve")
        thread = threading.Thread(
            target=worker.run_forever, args=(stop,), name="trellis worker", daemon=True
        )
        thread.start()
    click.echo(f"Trellis on http://{host}:{port}/  (API: /api/v1, OpenAPI: /api/v1/openapi.json)")
    # SIGTERM ends the server like Ctrl-C, so the worker finishes its current job first.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=60)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@main.command()
@click.option("--once", is_flag=True, help="Run the jobs due now (or at --as-of), then exit.")
@click.option(
    "--as-of",
    "as_of",
    metavar="TIMESTAMP",
    help="With --once: run what is due at this moment, an ISO timestamp such as "
    "2026-03-13T09:00 or 2026-03-13T01:00Z; without a zone it is company time "
    "(Asia/Shanghai).",
)
@click.option(
    "--name",
    default=None,
    help="This worker's name in the job table (default: host:pid); unique per running worker.",
)
@click.option(
    "--lease",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds without a heartbeat after which another worker takes a running job over.",
)
@click.option(
    "--poll",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds to wait between looks at the job table when nothing is due.",
)
def worker(once, as_of, name, lease, poll):
    """Run due jobs: timed automations, approval reminders, email, WeCom and webhook deliveries.

    Without --once it runs until Ctrl-C or SIGTERM, which stop it after the
    current job. On PostgreSQL several workers may run side by side; on SQLite
    run one.
    """
    from trellis.flows.worker import Worker

    if as_of is not None and not once:
        raise click.UsageError("--as-of goes with --once (a looping worker follows the clock)")
    moment = _parse_moment(as_of) if as_of is not None else None
    _log_to_stderr()
    runner = Worker(_runtime(), name=name or _worker_name(), lease_seconds=lease)
    if once:
        done = runner.run_once(moment)
        click.echo(f"worker {runner.name}: {done} job(s) done")
        return
    stop = threading.Event()
    _stop_on_signals(stop)
    click.echo(f"worker {runner.name} running; Ctrl-C stops it after the current job")
    runner.run_forever(stop, poll_seconds=poll)


COMPANY_ZONE = ZoneInfo("Asia/Shanghai")


def _parse_moment(text: str) -> dt.datetime:
    """An ISO timestamp; without a zone, company time (Asia/Shanghai)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO timestamp; write e.g. 2026-03-13T09:00 (company time) "
            "or 2026-03-13T01:00Z",
            param_hint="--as-of",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COMPANY_ZONE)
    return moment.astimezone(dt.UTC)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _stop_on_signals(stop: threading.Event) -> None:
    """Ctrl-C and SIGTERM ask the worker to stop after its current job; a second Ctrl-C quits."""

    def ask(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        click.echo("stopping after the current job ...", err=True)
        stop.set()

    signal.signal(signal.SIGINT, ask)
    signal.signal(signal.SIGTERM, ask)


class _EchoHandler(logging.Handler):
    """Log lines on the command's stderr (looked up at each line, as click.echo does)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def _log_to_stderr() -> None:
    """Job failures and takeovers are logged; show them on stderr."""
    logger = logging.getLogger("trellis.worker")
    if not any(isinstance(h, _EchoHandler) for h in logger.handlers):
        handler = _EchoHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


@main.group()
def metadata():
    """Inspect, export and import definitions."""


@metadata.command("plan")
def metadata_plan():
    """Show the DDL the database still needs to match the stored definitions."""
    plan = _runtime().metadata.plan()
    if not plan:
        click.echo("the database matches the definitions")
    for step in plan.steps:
        click.echo(step.describe())
        for sql in step.sql:
            click.echo(f"    {sql}")


@metadata.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def metadata_export(folder):
    """Write every effective definition as JSON files under FOLDER (objects/, layouts/, ...)."""
    count = _runtime().metadata.export(folder)
    click.echo(f"wrote {count} file(s) to {folder}")


@metadata.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and show the schema plan; change nothing.")
def metadata_import(folder, dry_run):
    """Apply the JSON definitions under FOLDER as admin changes (checked, all or nothing)."""
    result = _runtime().metadata.import_folder("cli", folder, dry_run=dry_run)
    if dry_run:
        for step in result.plan.steps:
            click.echo(f"  {step.describe()}")
        click.echo("dry run: the definitions are valid; nothing changed")
        return
    click.echo(
        f"imported; metadata version {result.version}, {len(result.plan.steps)} schema step(s)"
    )


@metadata.command("history")
@click.option("--limit", default=20, show_default=True, help="How many changes to show.")
@click.option("--key", help="Only changes touching this component, e.g. field:lead.status.")
def metadata_history(limit, key):
    """List metadata changes, newest first: version, when, who and what."""
    for change in _runtime().metadata.history(limit=limit, key=key):
        who = change["changed_by"] or "system"
        click.echo(f"{change['version']:>6}  {change['changed_at']}  {who:<12} {change['summary']}")


@metadata.command("revert")
@click.argument("version", type=int)
@click.option("--dry-run", is_flag=True, help="Check the revert and show its DDL; change nothing.")
def metadata_revert(version, dry_run):
    """Undo the single change VERSION (stored as a new version, itself revertible)."""
    result = _runtime().metadata.revert("cli", version, dry_run=dry_run)
    if dry_run:
        for step in result.plan.steps:
            click.echo(f"  {step.describe()}")
        click.echo(f"dry run: version {version} can be reverted; nothing changed")
        return
    click.echo(f"reverted version {version}; metadata version {result.version}")


@metadata.command("remove")
@click.argument("kind")
@click.argument("key")
@click.option("--dry-run", is_flag=True, help="Check the removal; change nothing.")
def metadata_remove(kind, key, dry_run):
    """Delete the definition KIND KEY an admin made, e.g. ``report opportunity.stage_count``
    or ``dashboard stage_board``. A pack's definitions stay (change or deactivate them);
    ``trellis metadata revert`` brings a removed one back."""
    result = _runtime().metadata.remove("cli", kind, key, dry_run=dry_run)
    if dry_run:
        click.echo(f"dry run: {kind} {key} can be removed; nothing changed")
        return
    click.echo(f"removed {kind} {key}; metadata version {result.version}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    main()


# The pack commands live in their own module; registered last to avoid an import cycle.
from trellis.cli_packs import pack  # noqa: E402

main.add_command(pack)
