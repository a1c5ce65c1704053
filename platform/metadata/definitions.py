"""Frozen definitions: what the runtime sees once JSON has been checked.

``trellis.metadata.build`` turns effective JSON into these objects; nothing
else constructs them from raw JSON. They are immutable so that a compiled
metadata version can be shared by every request of a process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from trellis.fieldtypes import FieldType, get_field_type

if TYPE_CHECKING:  # flow_definitions imports Label from here
    from trellis.metadata.app_build import AppDef
    from trellis.metadata.flow_definitions import (
        AssignmentRuleDef,
        AutomationDef,
        FlowDef,
        PoolDef,
    )
    from trellis.metadata.report_definitions import DashboardDef, ReportDef


@dataclass(frozen=True, slots=True)
class Label:
    """A text in both languages; ``get`` falls back to English."""

    zh: str
    en: str

    @classmethod
    def from_json(cls, value: Mapping[str, str]) -> Label:
        return cls(zh=value["zh-CN"], en=value["en"])

    def get(self, locale: str) -> str:
        return self.zh if locale.lower().startswith("zh") else self.en

    def as_json(self) -> dict[str, str]:
        return {"zh-CN": self.zh, "en": self.en}


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field of an object. Type-specific options live in ``options``."""

    object_name: str
    api_name: str
    type: str
    label: Label
    required: bool = False
    unique: bool = False
    indexed: bool = False
    track_history: bool = True
    system: bool = False
    archived: bool = False
    default_value: Any = None
    default_formula: Any = None  # a CompiledExpression
    formula: Any = None  # a CompiledExpression for formula fields
    rollup_filter: Any = None  # a CompiledExpression for roll-ups with a filter
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    help: Label | None = None
    description: str = ""
    provenance: str = "custom"

    @property
    def field_type(self) -> FieldType:
        return get_field_type(self.type)

    @property
    def writable(self) -> bool:
        return not self.system and self.field_type.writable

    @property
    def stored(self) -> bool:
        return self.field_type.is_stored(self)

    @property
    def path(self) -> str:
        return f"{self.object_name}.{self.api_name}"


@dataclass(frozen=True, slots=True)
class ValidationRuleDef:
    api_name: str
    error_condition: Any  # CompiledExpression, BOOLEAN
    message: Label
    field: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class DuplicateRuleDef:
    api_name: str
    fields: tuple[str, ...]
    action: str  # "warn" or "block"
    label: Label | None = None
    active: bool = True

    @property
    def column(self) -> str:
        """The hidden column holding the normalised match key."""
        return f"dup_{self.api_name}"


@dataclass(frozen=True, slots=True)
class RecordTypeDef:
    api_name: str
    label: Label
    picklist_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    active: bool = True


@dataclass(frozen=True)  # no slots: live_fields is cached on the instance
class ObjectDef:
    api_name: str
    label: Label
    plural_label: Label
    fields: tuple[FieldDef, ...]
    description: str = ""
    name_field: str | None = None
    track_history: bool = False
    searchable_fields: tuple[str, ...] = ()
    record_types: tuple[RecordTypeDef, ...] = ()
    duplicate_rules: tuple[DuplicateRuleDef, ...] = ()
    validation_rules: tuple[ValidationRuleDef, ...] = ()
    archived: bool = False
    provenance: str = "custom"
    by_name: Mapping[str, FieldDef] = field(default_factory=dict)

    def field(self, name: str) -> FieldDef:
        return self.by_name[name]

    @cached_property
    def live_fields(self) -> tuple[FieldDef, ...]:
        """Fields that are not archived (system fields included)."""
        return tuple(f for f in self.fields if not f.archived)


@dataclass(frozen=True, slots=True)
class LayoutDef:
    api_name: str
    object_name: str
    label: Label
    definition: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ListViewDef:
    api_name: str
    object_name: str
    label: Label
    columns: tuple[str, ...]
    filter: Any = None  # CompiledExpression or None
    sort: str | None = None
    shared: bool = True
    roles: tuple[str, ...] = ()  # roles that see the view; empty for everyone


@dataclass(frozen=True, slots=True)
class ObjectPermissionDef:
    create: bool = False
    read: bool = False
    edit: bool = False
    delete: bool = False
    view_all: bool = False
    modify_all: bool = False
    read_scope: str = "own"
    edit_scope: str = "own"
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RoleDef:
    api_name: str
    label: Label
    is_admin: bool = False
    objects: Mapping[str, ObjectPermissionDef] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConversionTargetDef:
    """One record a conversion makes (or links): an account, a contact ...

    ``values`` maps a target field to a compiled formula on the source;
    ``links`` maps a target lookup to an earlier target's api_name, or to
    ``"$source"`` for the source record itself.
    """

    api_name: str
    object_name: str
    label: Label
    link_field: str
    values: Mapping[str, Any]
    links: Mapping[str, str]
    optional: bool = False
    choose_existing: bool = False


@dataclass(frozen=True, slots=True)
class ConversionDef:
    """A conversion (docs/conversions.md): a source record becomes linked target records."""

    api_name: str
    object_name: str
    label: Label
    targets: tuple[ConversionTargetDef, ...]
    source_values: Mapping[str, Any]  # source field -> CompiledExpression
    condition: Any = None  # CompiledExpression, BOOLEAN
    condition_message: Label | None = None
    active: bool = True
    provenance: str = "custom"

    def target(self, name: str) -> ConversionTargetDef | None:
        return next((t for t in self.targets if t.api_name == name), None)


@dataclass(frozen=True, slots=True)
class Definitions:
    """Every effective definition at one metadata version.

    Flows (docs/flows.md) are keyed ``"object.api_name"``, like ``"lead.by_region"``.
    """

    version: int
    objects: Mapping[str, ObjectDef]
    layouts: Mapping[str, LayoutDef]
    list_views: Mapping[str, ListViewDef]
    roles: Mapping[str, RoleDef]
    approval_flows: Mapping[str, FlowDef] = field(default_factory=lambda: MappingProxyType({}))
    automations: Mapping[str, AutomationDef] = field(default_factory=lambda: MappingProxyType({}))
    pools: Mapping[str, PoolDef] = field(default_factory=lambda: MappingProxyType({}))
    assignment_rules: Mapping[str, AssignmentRuleDef] = field(
        default_factory=lambda: MappingProxyType({})
    )
    #: conversions (docs/conversions.md), keyed ``"object.api_name"`` like ``"lead.standard"``
    conversions: Mapping[str, ConversionDef] = field(default_factory=lambda: MappingProxyType({}))
    #: reports (docs/reports.md), keyed ``"object.api_name"``; dashboards by api_name
    reports: Mapping[str, ReportDef] = field(default_factory=lambda: MappingProxyType({}))
    dashboards: Mapping[str, DashboardDef] = field(default_factory=lambda: MappingProxyType({}))
    #: apps (the header's navigation, trellis.metadata.app_build), in display order
    apps: Mapping[str, AppDef] = field(default_factory=lambda: MappingProxyType({}))
