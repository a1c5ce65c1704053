"""The fields every object has, which the platform fills in itself."""

from __future__ import annotations

from trellis.metadata.definitions import FieldDef, Label

_SYSTEM = (
    ("id", "integer", "编号", "ID"),
    ("owner", "user", "负责人", "Owner"),
    ("department", "integer", "部门", "Department"),
    ("record_type", "text", "业务类型", "Record type"),
    ("created_by", "user", "创建人", "Created by"),
    ("created_at", "datetime", "创建时间", "Created at"),
    ("updated_by", "user", "最后修改人", "Last modified by"),
    ("updated_at", "datetime", "最后修改时间", "Last modified at"),
    ("version", "integer", "版本", "Version"),
)


def system_fields(object_name: str) -> list[FieldDef]:
    return [
        FieldDef(
            object_name=object_name,
            api_name=name,
            type=type_,
            label=Label(zh, en),
            system=True,
            track_history=name == "owner",
            provenance="system",
        )
        for name, type_, zh, en in _SYSTEM
    ]
