"""One case running: its clock, its people, the records it created and how to read them.

Everything a case writes goes through the records service and the flow engine,
as the case's acting user at the case's moment; reads for checking use a
trusted context, so what is checked does not depend on who may see it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from trellis.packtests.cases import CaseDef, GivenRecord
from trellis.runtime import people
from trellis.runtime.context import Context, system_context
from trellis.runtime.errors import TrellisError
from trellis.runtime.platform_runtime import Runtime
from trellis.runtime.system_tables import user_role_table, user_table


class CaseFailed(Exception):
    """The case cannot go on; the message says what was expected and what happened."""


class CaseRun:
    def __init__(self, runtime: Runtime, case: CaseDef):
        self.runtime = runtime
        self.case = case
        #: ``_ref`` name → (object, record id) of the records this case created
        self.refs: dict[str, tuple[str, int]] = {}
        self._user_ids: dict[str, int] = {}

    # -- people and contexts ---------------------------------------------------------

    def user_id(self, username: str) -> int:
        if username not in self._user_ids:
            with self.runtime.engine.connect() as conn:
                found = people.user_id(conn, username)
            if found is None:
                raise CaseFailed(f"there is no user {username!r} in the sample organisation")
            self._user_ids[username] = found
        return self._user_ids[username]

    def context(self, username: str | None = None, at: dt.datetime | None = None) -> Context:
        """Acting as ``username`` (default: the case's user) at ``at`` (default: now)."""
        return self.runtime.context(
            self.user_id(username or self.case.user),
            now=at or self.case.now,
            locale=self.case.locale,
        )

    def context_of(self, user_id: int, at: dt.datetime | None = None) -> Context:
        return self.runtime.context(user_id, now=at or self.case.now, locale=self.case.locale)

    @property
    def reader(self) -> Context:
        """A trusted context for reading what happened, whatever the permissions."""
        return system_context("pack tests")

    def usernames(self, user_ids) -> dict[int, str]:
        ids = sorted({u for u in user_ids if u})
        if not ids:
            return {}
        query = sa.select(user_table.c.id, user_table.c.username).where(user_table.c.id.in_(ids))
        with self.runtime.engine.connect() as conn:
            return {r.id: r.username for r in conn.execute(query)}

    def roles_of(self, user_id: int) -> set[str]:
        query = sa.select(user_role_table.c.role).where(user_role_table.c.user_id == user_id)
        with self.runtime.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    # -- records -------------------------------------------------------------------------

    def record(self, ref: str) -> tuple[str, int]:
        """``(object, id)`` of ``#ref``."""
        try:
            return self.refs[ref.removeprefix("#")]
        except KeyError:
            raise CaseFailed(f"no given record is named {ref!r}") from None

    def resolve(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Values with ``#ref`` replaced by the id of that record, as in sample data."""
        out = {}
        for name, value in values.items():
            if isinstance(value, str) and value.startswith("#") and value[1:] in self.refs:
                value = self.refs[value[1:]][1]
            out[name] = value
        return out

    def create_given(self, given: GivenRecord) -> None:
        owner = self.user_id(given.owner) if given.owner else None
        try:
            created = self.runtime.records.create(
                self.context(given.as_user),
                given.object_name,
                self.resolve(given.values),
                owner=owner,
            )
        except TrellisError as exc:
            raise CaseFailed(
                f"given record {given.pointer} ({given.object_name}) was refused: {describe(exc)}"
            ) from None
        if given.ref:
            self.refs[given.ref] = (given.object_name, created.record["id"])

    def read(self, object_name: str, record_id: int) -> dict[str, Any]:
        return self.runtime.records.get(self.reader, object_name, record_id)


def describe(exc) -> str:
    """A refused write in one line: its message and each detail."""
    details = [
        f"{d.get('field') or d.get('pointer') or d.get('rule') or '-'}: {d.get('message')}"
        for d in getattr(exc, "details", [])
    ]
    text = getattr(exc, "message", None) or str(exc)
    return text + (f" ({'; '.join(details)})" if details else "")
