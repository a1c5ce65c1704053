"""``trellis pack …`` on the command line, as a consultant and an admin use it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from trellis.cli import main


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


def test_validate_reports_every_problem_with_its_place_and_exits_1(cli, pack_copy):
    pack_copy("crm_standard", "work")
    pack = pack_copy("industrial", "work")
    assert cli("pack", "validate", str(pack.folder)).output.startswith("ok: industrial 1.0.0")
    pack.edit("objects/sample_request.json", lambda o: o["fields"][0].update(type="texty"))
    result = cli("pack", "validate", str(pack.folder), ok=False)
    assert result.exit_code == 1
    assert "field:sample_request.request_number/type: unknown field type 'texty'" in result.output


def test_install_with_sample_data_then_upgrade_dry_run_and_list(cli, pack_copy):
    cli("init", "--no-pack")
    installed = cli("pack", "install", "crm_standard", "--with-sample-data")
    assert "installed; metadata version" in installed.output
    new = pack_copy("crm_standard", "next")
    new.set_version("1.1.0")
    new.edit(
        "objects/lead.json",
        lambda lead: lead["fields"].append(
            {
                "api_name": "wechat",
                "type": "text",
                "length": 40,
                "label": {"zh-CN": "微信", "en": "WeChat"},
            }
        ),
    )
    dry = cli("pack", "upgrade", str(new.folder), "--dry-run").output
    assert "crm_standard 1.0.0 -> 1.1.0" in dry
    assert "add_column      rec_lead.wechat" in dry and "field:lead.wechat" in dry
    assert dry.strip().endswith("dry run: nothing changed")
    assert cli("pack", "list").output.strip() == "crm_standard 1.0.0"
    cli("pack", "upgrade", str(new.folder))
    assert cli("pack", "list").output.strip() == "crm_standard 1.1.0"
    diff = cli("pack", "diff", "crm_standard", str(new.folder)).output
    assert "+ field:lead.wechat" in diff


def test_export_writes_a_pack_folder_and_refuses_a_bad_name(cli, tmp_path):
    cli("init")
    none = cli("pack", "export", "--name", "acme", "--out", str(tmp_path / "e0"), ok=False)
    assert "there are no customizations to export" in none.output
    bad = cli("pack", "export", "--name", "Acme Corp", "--out", str(tmp_path / "e1"), ok=False)
    assert "is not a pack name" in bad.output
