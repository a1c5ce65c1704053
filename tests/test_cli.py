"""The trellis command line: what `make run` relies on, on both databases."""

from __future__ import annotations

import json

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


def test_init_and_demo_are_safe_to_repeat(cli):
    first = cli("init")
    assert "pack crm_standard: metadata version 1" in first.output
    again = cli("init")
    assert "unchanged" in again.output
    demo = cli("demo")
    assert "demo data: 361 records" in demo.output
    assert "rep_east" in demo.output and "demo-pass" not in demo.output
    assert "already exist" in cli("demo").output
    assert "the database matches the definitions" in cli("metadata", "plan").output
    assert cli("pack", "list").output.strip() == "crm_standard 0.1.0"


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
        ["pack", "install"],
        ["metadata", "export"],
        ["metadata", "import"],
    ],
)
def test_every_command_explains_itself(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) > 3
