"""``trellis pack …``: the pack lifecycle on the command line.

    trellis pack validate PATH            check a pack without a database (for authors)
    trellis pack install PATH|NAME        install (--with-sample-data, --dry-run)
    trellis pack upgrade PATH [--dry-run] three-way merge with the admin's changes
    trellis pack conflicts                open conflicts left by upgrades
    trellis pack resolve KEY PLACE --keep admin|vendor
    trellis pack uninstall NAME           remove what the pack created; data is archived
    trellis pack export --name N --out D  the admin's customizations as a pack folder
    trellis pack diff A B                 two packs, or a pack and "live"
    trellis pack list                     installed packs
    trellis pack test PATH                run the pack's contract tests on a throwaway database

PATH may be a pack folder, a ``.zip``/``.tar.gz`` archive of one, or the name
of a pack shipped with Trellis. Every command that changes something takes
``--dry-run`` and then prints what it would do and changes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from trellis.metadata.pack_diff import as_text


def _runtime():
    from trellis.cli import _runtime

    return _runtime()


def _print_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group()
def pack():
    """Validate, install, upgrade, uninstall, export and compare definition packs."""


@pack.command("validate")
@click.argument("path")
def pack_validate(path):
    """Check a pack as an install would, without a database; exit 1 on problems."""
    from trellis.metadata.pack_validate import validate
    from trellis.runtime.pack_operations import pack_folder

    with pack_folder(path) as folder:
        layer, problems = validate(folder)
    for p in problems:
        click.echo(f"  - {p.component}{p.place}: {p.message}", err=True)
    if problems:
        click.secho(f"{len(problems)} problem(s); the pack would not install", fg="red", err=True)
        sys.exit(1)
    click.echo(f"ok: {layer.name} {layer.version} ({len(layer.components)} components)")


@pack.command("install")
@click.argument("name_or_path")
@click.option("--with-sample-data", is_flag=True, help="Also load the pack's demo org and records.")
@click.option("--dry-run", is_flag=True, help="Show the schema plan without changing anything.")
def pack_install(name_or_path, with_sample_data, dry_run):
    """Install a pack (folder, archive or shipped name) in one transaction."""
    from trellis.cli import DEMO_PASSWORD_DEFAULT
    from trellis.runtime import sample_data

    runtime = _runtime()
    runtime.metadata.init_database()
    password = os.environ.get("TRELLIS_DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)
    loader = sample_data.loader(runtime, password) if with_sample_data else None
    result = runtime.metadata.install_pack(
        name_or_path, actor="cli", dry_run=dry_run, sample_data=loader
    )
    for step in result.plan.steps:
        click.echo(f"  {step.describe()}")
    if dry_run:
        click.echo("dry run: nothing changed")
    elif not result.applied:
        click.echo("already installed at this version: nothing changed")
    else:
        click.echo(f"installed; metadata version {result.version}")


@pack.command("upgrade")
@click.argument("path")
@click.option("--dry-run", is_flag=True, help="Report what would happen; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def pack_upgrade(path, dry_run, as_json):
    """Upgrade an installed pack, keeping every admin change (conflicts are listed)."""
    result = _runtime().metadata.upgrade_pack(path, actor="cli", dry_run=dry_run)
    if as_json:
        _print_json(result.as_json())
        return
    data = result.as_json()
    click.echo(f"{data['pack']} {data['from_version']} -> {data['to_version']}")
    _section("schema changes (DDL)", [_step_line(s) for s in data["ddl"]])
    click.echo(f"rows affected: {data['rows_affected']}")
    _section("new components", data["arrived"])
    _section(
        "vendor changes applied", [f"{e['key']} {e['property']}" for e in data["vendor_changes"]]
    )
    _section("your changes kept", [f"{e['key']} {e['property']}" for e in data["kept"]])
    _section("merged", [f"{e['key']} {e['property']}: {e['outcome']}" for e in data["merged"]])
    _section("archived with their data", data["archived"])
    _section("removed", data["removed"])
    _section("removed by the vendor, kept as yours", data["kept_as_custom"])
    _section(
        "CONFLICTS (your value stays until you choose: trellis pack resolve KEY PLACE --keep …)",
        [
            f"{c['key']} {c['place']}: yours {c['admin']!r}, new version {c['vendor']!r} "
            f"(was {c['base']!r})"
            for c in data["conflicts"]
        ],
    )
    click.echo(
        "dry run: nothing changed" if dry_run else f"upgraded; metadata version {data['version']}"
    )


def _section(title: str, lines: list[str]) -> None:
    if lines:
        click.echo(f"{title}:")
        for line in lines:
            click.echo(f"  {line}")


def _step_line(step: dict) -> str:
    target = f"{step['table']}.{step['target']}" if step["target"] else step["table"]
    rows = f"  ({step['rows_affected']} rows)" if step["rows_affected"] else ""
    return f"{step['action']:15} {target}{rows}"


@pack.command("conflicts")
@click.option("--json", "as_json", is_flag=True)
def pack_conflicts(as_json):
    """Conflicts left by upgrades: places both the vendor and an admin changed."""
    conflicts = _runtime().metadata.conflicts()
    if as_json:
        _print_json(conflicts)
        return
    if not conflicts:
        click.echo("no open conflicts")
    for c in conflicts:
        click.echo(
            f"{c['key']} {c['place']} ({c['pack']}): yours {c['admin']!r}, "
            f"new version {c['vendor']!r}, was {c['base']!r}"
        )


@pack.command("resolve")
@click.argument("key")
@click.argument("place")
@click.option("--keep", type=click.Choice(["admin", "vendor"]), required=True)
def pack_resolve(key, place, keep):
    """Settle a conflict: keep the admin's value or take the new version's."""
    result = _runtime().metadata.resolve_conflict("cli", key, place, keep)
    click.echo(f"resolved; metadata version {result.version}")


@pack.command("uninstall")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
def pack_uninstall(name, dry_run):
    """Remove what a pack created; its tables and columns stay with their data."""
    result = _runtime().metadata.uninstall_pack(name, actor="cli", dry_run=dry_run)
    data = result.as_json()
    _section("removed", data["removed"])
    _section("back to the definition of the pack below", data["restored"])
    _section(
        "data archived (kept in the database)",
        [f"{k}: {v} row(s)" for k, v in data["archived_rows"].items()],
    )
    _section("admin components removed with their object", data["admin_removed"])
    _section(
        "admin changes dropped with their component",
        [f"{e['key']} {e['property']}" for e in data["admin_changes_dropped"]],
    )
    click.echo("dry run: nothing changed" if dry_run else f"uninstalled {name}")


@pack.command("export")
@click.option("--name", required=True, help="The new pack's name, e.g. acme_crm.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.option("--version", default="1.0.0", show_default=True)
def pack_export(name, out, version):
    """Write the admin's customizations (and admin-created objects) as a pack folder."""
    if out.exists() and any(out.iterdir()):
        raise click.UsageError(f"{out} is not empty; choose a new folder")
    files = _runtime().metadata.export_pack(name, out, version=version)
    click.echo(
        f"wrote {len(files)} file(s) to {out}; install it elsewhere with trellis pack install"
    )


@pack.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--json", "as_json", is_flag=True)
def pack_diff(a, b, as_json):
    """What differs from A to B (pack folders, archives, shipped names, or "live")."""
    if "live" in (a, b):
        entries = _runtime().metadata.diff_packs(a, b)
    else:  # two packs: no database needed
        from trellis.runtime.pack_operations import PackOperations

        entries = PackOperations().diff_packs(a, b)
    if as_json:
        _print_json(entries)
    else:
        click.echo(as_text(entries))


@pack.command("list")
def pack_list():
    """List installed packs, their versions and open conflicts."""
    for p in _runtime().metadata.packs():
        conflicts = f", {p['open_conflicts']} open conflict(s)" if p["open_conflicts"] else ""
        click.echo(f"{p['name']} {p['version']}{conflicts}")


@pack.command("test")
@click.argument("path")
@click.option("--database-url", help="Run on this (empty) database instead of a throwaway SQLite.")
@click.option(
    "--with",
    "extra",
    multiple=True,
    help="Install this pack first (repeatable), e.g. a newer crm_standard to test on top of.",
)
def pack_test(path, database_url, extra):
    """Run a pack's contract tests (tests/*.json) on a throwaway database; exit 1 on failure."""
    from trellis.packtests import run_pack_tests
    from trellis.runtime.pack_operations import pack_folder

    with pack_folder(path) as folder:
        report = run_pack_tests(folder, database_url=database_url, extra_packs=list(extra))
    click.echo(report.as_text())
    if not report.passed:
        sys.exit(1)
