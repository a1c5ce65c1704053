"""Fixtures for the runtime's integration tests: a database with the standard CRM and its people.

``runtime`` is a ``Runtime`` on a fresh database (SQLite, then PostgreSQL, through
``database_url``) with ``crm_standard`` installed and the demo organisation of
``packs/crm_standard/sample_data/org.json`` loaded (no demo records). ``crm`` wraps it with
small factories (``crm.lead(...)``, ``crm.account(...)``), raw reads that bypass the records
service (``crm.raw``, ``crm.count``) and a statement counter.

``tests/conftest.py`` loads this file by path; tests/api and tests/flows reuse
``prepare_database``, ``Crm`` and the fixtures (pytest's ``--import-mode=importlib`` puts
no test folder on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from trellis.metadata.packs import locate
from trellis.runtime import people, sample_data
from trellis.runtime.context import Context
from trellis.runtime.platform_runtime import Runtime

PASSWORD = "trellis-demo"
CRM = locate("crm_standard")
ORG = CRM / "sample_data"
#: A fixed moment (a Tuesday, 10:30 in Shanghai) for tests that check dates and numbers.
NOW = dt.datetime(2026, 3, 10, 2, 30, tzinfo=dt.UTC)


def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash the demo users' passwords with few iterations: real hashes, checked the real way.

    The default (scrypt) costs ~0.1 s per user, and every test creates eight users.
    """
    monkeypatch.setattr(
        people,
        "generate_password_hash",
        functools.partial(generate_password_hash, method="pbkdf2:sha256:1000"),
    )


def prepare_database(database_url: str) -> Runtime:
    """A Runtime on ``database_url`` with crm_standard and the demo organisation."""
    rt = Runtime(database_url)
    rt.metadata.init_database()
    rt.metadata.install_pack("crm_standard")
    sample_data.load_org(rt, ORG, PASSWORD)
    return rt


def pack_role(name: str) -> dict[str, Any]:
    """A role definition as the pack ships it (a fresh copy to modify)."""
    return copy.deepcopy(json.loads((CRM / "roles" / f"{name}.json").read_text("utf-8")))


class Crm:
    """Factories and raw reads over one runtime with the standard CRM.

    Test modules cannot import from a conftest (importlib mode), so the constants and helpers
    they need hang off this class too.
    """

    NOW = NOW
    PASSWORD = PASSWORD

    def __init__(self, rt: Runtime):
        self.rt = rt
        self.records = rt.records
        self._serial = itertools.count(1)

    # -- people ---------------------------------------------------------------

    def ctx(self, username: str = "rep_east", **kwargs) -> Context:
        return self.rt.context_for(username, **kwargs)

    def user_id(self, username: str) -> int:
        with self.rt.engine.connect() as conn:
            return people.user_id(conn, username)

    def add_user(self, username: str, *, department: str, manager: str | None, roles: list[str]):
        with self.rt.engine.begin() as conn:
            return people.create_user(
                conn,
                username,
                PASSWORD,
                display_name=username,
                department=department,
                manager=manager,
                roles=roles,
            )

    # -- records --------------------------------------------------------------

    def _as(self, who: str | Context) -> Context:
        return self.ctx(who) if isinstance(who, str) else who

    def serial(self) -> int:
        return next(self._serial)

    def lead(self, who: str | Context = "rep_east", **values) -> dict[str, Any]:
        data = {"company_name": f"测试公司{self.serial()}", "mobile": "13812345678", **values}
        return self.records.create(self._as(who), "lead", data).record

    def account(self, who: str | Context = "rep_east", **values) -> dict[str, Any]:
        data = {"account_name": f"客户{self.serial()}有限公司", **values}
        return self.records.create(self._as(who), "account", data).record

    def opportunity(self, who: str | Context, account: int, **values) -> dict[str, Any]:
        data = {"opportunity_name": f"商机{self.serial()}", "account": account, **values}
        return self.records.create(self._as(who), "opportunity", data).record

    def contact(self, who: str | Context, account: int, **values) -> dict[str, Any]:
        data = {"contact_name": f"联系人{self.serial()}", "account": account, **values}
        data.setdefault("email", f"c{self.serial()}@example.com")
        return self.records.create(self._as(who), "contact", data).record

    def follow_up(self, who: str | Context, **values) -> dict[str, Any]:
        data = {"subject": f"跟进{self.serial()}", **values}
        return self.records.create(self._as(who), "follow_up", data).record

    # -- raw reads (bypass the records service and its permissions) -----------

    def count(self, object_name: str) -> int:
        with self.rt.engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT COUNT(*) FROM rec_{object_name}")).scalar_one()

    def raw(self, object_name: str, record_id: int) -> dict[str, Any] | None:
        with self.rt.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.text(f"SELECT * FROM rec_{object_name} WHERE id = :id"), {"id": record_id}
                )
                .mappings()
                .first()
            )
            return dict(row) if row is not None else None

    def columns(self, object_name: str) -> dict[str, Any]:
        """The live table's columns (name → reflected column dict)."""
        with self.rt.engine.connect() as conn:
            return {c["name"]: c for c in sa.inspect(conn).get_columns(f"rec_{object_name}")}

    @staticmethod
    def pack_role(name: str) -> dict[str, Any]:
        return pack_role(name)

    @staticmethod
    def same_message(a: Exception, b: Exception, *ids: int) -> bool:
        return same_message(a, b, *ids)

    @contextlib.contextmanager
    def statements(self) -> Iterator[list[str]]:
        """Collect the SQL statements run on this runtime's engine while the block runs."""
        seen: list[str] = []

        def collect(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        sa.event.listen(self.rt.engine, "before_cursor_execute", collect)
        try:
            yield seen
        finally:
            sa.event.remove(self.rt.engine, "before_cursor_execute", collect)


def same_message(a: Exception, b: Exception, *ids: int) -> bool:
    """Two errors say the same thing once record ids are blanked out."""

    def blank(text: str) -> str:
        for i in ids:
            text = re.sub(rf"\b{i}\b", "<id>", text)
        return text

    return blank(str(a)) == blank(str(b))


@pytest.fixture
def runtime(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    cheap_password_hashes(monkeypatch)
    rt = prepare_database(database_url)
    try:
        yield rt
    finally:
        rt.dispose()


@pytest.fixture
def crm(runtime: Runtime) -> Crm:
    return Crm(runtime)


@pytest.fixture
def demo_records(runtime: Runtime) -> int:
    """Load the pack's ~360 demo records (as admin); returns how many."""
    return sample_data.load_records(runtime, ORG, "admin")
