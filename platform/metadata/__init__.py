"""Metadata: definitions as data.

JSON definitions (objects, fields, validation rules, layouts, list views, reports, dashboards,
roles, approval flows, automations, pools, assignment rules, pack manifests)
are checked against JSON Schemas and semantic checks,
kept in layers (packs, then the admin's customizations) in the platform's
own tables, and built into frozen ``*Def`` objects that the runtime compiles
once per metadata version. This package imports neither the runtime nor the
flow engine.
"""

from trellis.metadata.build import build, dependency_graph
from trellis.metadata.components import Component, explode, key_for
from trellis.metadata.definitions import (
    Definitions,
    FieldDef,
    Label,
    LayoutDef,
    ListViewDef,
    ObjectDef,
    ObjectPermissionDef,
    RoleDef,
)
from trellis.metadata.layers import UNSET, Layers, PackLayer
from trellis.metadata.problems import DefinitionError, Problem

__all__ = [
    "UNSET",
    "Component",
    "DefinitionError",
    "Definitions",
    "FieldDef",
    "Label",
    "Layers",
    "LayoutDef",
    "ListViewDef",
    "ObjectDef",
    "ObjectPermissionDef",
    "PackLayer",
    "Problem",
    "RoleDef",
    "build",
    "dependency_graph",
    "explode",
    "key_for",
]
