"""Definition changes are versioned, atomic with their DDL, and seen by every process."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from trellis.runtime import schema_sync
from trellis.runtime.errors import Invalid
from trellis.runtime.platform_runtime import Runtime

GADGET = {
    "api_name": "gadget",
    "label": {"zh-CN": "器件", "en": "Gadget"},
    "plural_label": {"zh-CN": "器件", "en": "Gadgets"},
    "fields": [{"api_name": "title", "type": "text", "label": {"zh-CN": "名", "en": "Title"}}],
}


@pytest.fixture
def runtimes(database_url):
    first, second = Runtime(database_url), Runtime(database_url)
    first.metadata.init_database()
    yield first, second
    first.dispose()
    second.dispose()


def _tables(runtime) -> set[str]:
    with runtime.engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_a_change_in_one_process_is_seen_by_another(runtimes):
    first, second = runtimes
    first.metadata.create_object("admin", GADGET)
    with second.engine.connect() as conn:
        assert "gadget" in second.cache.get(conn).definitions.objects
    first.metadata.add_field(
        "admin",
        "gadget",
        {"api_name": "weight_kg", "type": "decimal", "label": {"zh-CN": "重量", "en": "Weight"}},
    )
    with second.engine.connect() as conn:
        compiled = second.cache.get(conn)
    assert "weight_kg" in compiled.object("gadget").definition.by_name
    assert compiled.version == 2


def test_ddl_and_metadata_roll_back_together_when_a_step_fails(runtimes, monkeypatch):
    first, _ = runtimes
    real_apply = schema_sync.apply

    def apply_then_crash(conn, plan):
        real_apply(conn, plan)  # the CREATE TABLE really runs, inside the transaction
        raise RuntimeError("simulated crash after DDL")

    monkeypatch.setattr(schema_sync, "apply", apply_then_crash)
    with pytest.raises(RuntimeError):
        first.metadata.create_object("admin", GADGET)
    assert "rec_gadget" not in _tables(first)
    with first.engine.connect() as conn:
        assert "gadget" not in first.cache.get(conn).definitions.objects


def test_refused_change_leaves_tables_and_definitions_alone(runtimes):
    first, _ = runtimes
    first.metadata.create_object("admin", GADGET)
    before = _tables(first)
    bad = {
        **GADGET,
        "api_name": "widget",
        "fields": [
            {"api_name": "title", "type": "text", "label": {"zh-CN": "名", "en": "Title"}},
            {
                "api_name": "price",
                "type": "formula",
                "formula": "title * 2",
                "return_type": "decimal",
                "label": {"zh-CN": "价", "en": "Price"},
            },
        ],
    }
    with pytest.raises(Invalid) as caught:
        first.metadata.create_object("admin", bad)
    assert caught.value.details[0]["pointer"] == "field:widget.price/formula"
    assert _tables(first) == before
    with first.engine.connect() as conn:
        assert first.cache.get(conn).version == 1


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    runtime = Runtime(f"sqlite:///{tmp_path / 'x.db'}")
    with runtime.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    runtime.dispose()
