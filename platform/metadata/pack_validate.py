"""``trellis pack validate PATH``: everything an install checks, without a database.

A consultant runs this while authoring. It reads the pack, finds the packs it
depends on (a sibling folder of the same name, else a pack shipped with
Trellis), checks their versions against the ranges, lays the pack over them
and builds the result with every check the platform has. It also checks that
extensions extend something, that nothing redefines a dependency's component
without saying so, and that sample data names real objects and fields.
"""

from __future__ import annotations

import json
from pathlib import Path

from trellis.metadata.build import build
from trellis.metadata.layers import Layers, PackLayer
from trellis.metadata.packs import dependency_problems, locate, read
from trellis.metadata.problems import DefinitionError, Problem
from trellis.metadata.schemas import check_schema

MAX_DEPTH = 10


def validate(folder: Path) -> tuple[PackLayer | None, list[Problem]]:
    """The pack and every problem found (an empty list means it would install)."""
    try:
        layer = read(folder)
    except DefinitionError as exc:
        return None, exc.problems
    deps, problems = resolve_dependencies(layer, folder.parent)
    if problems:
        return layer, problems
    below = Layers(packs=tuple(deps)).effective()
    problems += _layering_problems(layer, below)
    layers = Layers(packs=(*deps, layer))
    try:
        definitions = build(layers.effective(), provenance=layers.provenance)
    except DefinitionError as exc:
        return layer, problems + exc.problems
    problems += _sample_data_problems(folder, definitions)
    problems += _contract_test_problems(folder)
    return layer, problems


def resolve_dependencies(layer: PackLayer, near: Path) -> tuple[list[PackLayer], list[Problem]]:
    """The packs ``layer`` needs, in install order, read from ``near`` or the shipped packs."""
    order: list[PackLayer] = []
    problems: list[Problem] = []

    def visit(pack: PackLayer, depth: int) -> None:
        if depth > MAX_DEPTH:
            problems.append(Problem("pack.json", "/dependencies", "dependencies loop"))
            return
        for name in pack.manifest.get("dependencies", {}):
            if any(p.name == name for p in order):
                continue
            sibling = near / name
            try:
                dep = read(sibling if (sibling / "pack.json").is_file() else locate(name))
            except FileNotFoundError:
                continue  # reported below as "install it first"
            except DefinitionError as exc:
                problems.extend(
                    Problem(f"{name}/{p.component}", p.place, p.message) for p in exc.problems
                )
                continue
            visit(dep, depth + 1)
            order.append(dep)
        problems.extend(dependency_problems(pack.manifest, {p.name: p.version for p in order}))

    visit(layer, 0)
    return order, problems


def _layering_problems(layer: PackLayer, below: dict) -> list[Problem]:
    problems = []
    for key, comp in layer.components.items():
        nested = comp.kind in ("field", "validation_rule")
        if comp.extends and key not in below and not nested:
            problems.append(
                Problem(
                    key,
                    "/extends",
                    f"extends {key}, which none of the packs it depends on defines; "
                    'remove "extends" to define it here',
                )
            )
        elif not comp.extends and key in below:
            problems.append(
                Problem(
                    key,
                    "",
                    f"{key} is already defined by a pack this one depends on; "
                    'write "extends": true in its file to change it',
                )
            )
    return problems


def _sample_data_problems(folder: Path, definitions) -> list[Problem]:
    problems = []
    for path in sorted((folder / "sample_data").glob("records*.json")):
        rel = f"sample_data/{path.name}"
        try:
            blocks = json.loads(path.read_text("utf-8"))["objects"]
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(Problem(rel, "", f'expected {{"objects": [...]}}: {exc}'))
            continue
        for n, block in enumerate(blocks):
            obj = definitions.objects.get(block.get("object"))
            if obj is None:
                problems.append(
                    Problem(rel, f"/objects/{n}/object", f"no object {block.get('object')!r}")
                )
                continue
            unknown = {k for r in block.get("records", []) for k in r if k not in obj.by_name} - {
                "_ref",
                "owner",
            }
            for name in sorted(unknown):
                problems.append(
                    Problem(rel, f"/objects/{n}", f"{obj.api_name} has no field {name!r}")
                )
    return problems


def _contract_test_problems(folder: Path) -> list[Problem]:
    problems = []
    if not (Path(__file__).parent / "schemas" / "pack_test.json").is_file():
        return problems
    for path in sorted((folder / "tests").glob("*.json")):
        rel = f"tests/{path.name}"
        try:
            data = json.loads(path.read_text("utf-8"))
        except ValueError as exc:
            problems.append(Problem(rel, "", f"not valid JSON: {exc}"))
            continue
        problems += list(check_schema("pack_test", rel, data))
    return problems
