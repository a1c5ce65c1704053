"""Labels of group values, in the viewer's language.

Picklist values show their label, lookups the name of the record they point
to, users their display name, departments their name, buckets ``2026-03`` or
``2026年3月``. Names are fetched once per report for all the ids on the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from trellis.metadata.report_definitions import GroupDef
from trellis.reports.buckets import bucket_label
from trellis.reports.sources import Sources
from trellis.runtime.system_tables import department_table, user_table

BLANK = {"zh": "（空）", "en": "(blank)"}
YES_NO = {"zh": ("是", "否"), "en": ("Yes", "No")}


def _lang(locale: str) -> str:
    return "zh" if locale.lower().startswith("zh") else "en"


class GroupLabels:
    """Labels for the values of one group, looked up in one query where names are needed."""

    def __init__(self, conn, sources: Sources, group: GroupDef, values: Iterable[Any], locale):
        self.group = group
        self.locale = locale
        self.lang = _lang(locale)
        self.field = sources.field(group.path)
        self.names = self._names(conn, sources, {v for v in values if v is not None})

    def _names(self, conn, sources: Sources, ids: set) -> dict[Any, str]:
        if self.group.bucket or not ids:
            return {}
        f = self.field
        if f.type == "user" or f.api_name in ("owner", "created_by", "updated_by") and f.system:
            rows = conn.execute(
                sa.select(user_table.c.id, user_table.c.display_name).where(
                    user_table.c.id.in_(sorted(ids))
                )
            )
            return dict(rows.all())
        if f.system and f.api_name == "department":
            label = (
                department_table.c.label_zh if self.lang == "zh" else department_table.c.label_en
            )
            rows = conn.execute(
                sa.select(department_table.c.id, label).where(
                    department_table.c.id.in_(sorted(ids))
                )
            )
            return dict(rows.all())
        target = f.options.get("target") if f.type == "lookup" else None
        if f.system and f.api_name == "id":
            target = f.object_name
        if target is None:
            return {}
        rt = sources.compiled.objects[target]
        name_field = rt.definition.name_field
        if not name_field or not rt.definition.by_name[name_field].stored:
            return {}
        rows = conn.execute(
            sa.select(rt.table.c.id, rt.table.c[name_field]).where(rt.table.c.id.in_(sorted(ids)))
        )
        return {i: str(n) if n is not None else f"#{i}" for i, n in rows}

    def label(self, value: Any, bucket_start=None) -> str:
        if value is None:
            return BLANK[self.lang]
        if self.group.bucket:
            return bucket_label(bucket_start, self.group.bucket, self.locale)
        if self.names or self.field.type in ("lookup", "user"):
            return self.names.get(value, f"#{value}")
        if self.field.type == "picklist":
            for option in self.field.options.get("values", ()):
                if option["api_name"] == value:
                    return (
                        option["label"].get(self.locale)
                        or option["label"]["zh-CN" if self.lang == "zh" else "en"]
                    )
            return str(value)
        if self.field.type == "boolean":
            return YES_NO[self.lang][0 if value else 1]
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return str(value)

    def order(self, value: Any):
        """Sort key: picklists in their own order, blanks last."""
        if value is None:
            return (2, "")
        if self.field.type == "picklist" and not self.group.bucket:
            names = [o["api_name"] for o in self.field.options.get("values", ())]
            return (0, names.index(value) if value in names else len(names))
        if self.names:
            return (1, self.names.get(value, ""))
        return (1, value)
