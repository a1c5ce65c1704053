"""Reading a pack folder into a pack layer (install and upgrade come with issue 4).

A pack is data only: ``pack.json`` plus definition files in
``objects/``, ``layouts/``, ``list_views/``, ``roles/``, ``approval_flows/``,
``automations/``, ``pools/`` and ``assignment_rules/`` (one JSON document per
file), and optional ``sample_data/``. Reading never executes anything from
the pack.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from trellis.metadata.components import Component, explode
from trellis.metadata.layers import PackLayer
from trellis.metadata.problems import DefinitionError, Problem
from trellis.metadata.schemas import check_schema

FOLDERS = {
    "objects": "object",
    "layouts": "layout",
    "list_views": "list_view",
    "roles": "role",
    "approval_flows": "approval_flow",
    "automations": "automation",
    "pools": "pool",
    "assignment_rules": "assignment_rule",
}
MAX_FILE_BYTES = 2_000_000


def locate(name_or_path: str) -> Path:
    """A pack folder: a path, or the name of a pack shipped with Trellis."""
    path = Path(name_or_path)
    if (path / "pack.json").is_file():
        return path
    shipped = resources.files("trellis.packs").joinpath(name_or_path)
    if "/" not in name_or_path and shipped.joinpath("pack.json").is_file():
        return Path(str(shipped))
    raise FileNotFoundError(
        f"no pack at {name_or_path!r}: give a folder containing pack.json or the "
        f"name of a shipped pack ({', '.join(shipped_packs())})"
    )


def shipped_packs() -> list[str]:
    root = resources.files("trellis.packs")
    return sorted(p.name for p in root.iterdir() if p.joinpath("pack.json").is_file())


def _read_json(path: Path, key: str, problems: list[Problem]) -> Any:
    if path.stat().st_size > MAX_FILE_BYTES:
        problems.append(Problem(key, "", f"{path.name} is larger than {MAX_FILE_BYTES} bytes"))
        return None
    try:
        return json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(Problem(key, "", f"{path.name} is not valid UTF-8 JSON: {exc}"))
        return None


def read(folder: Path) -> PackLayer:
    """Read and schema-check a pack folder; raise DefinitionError listing every problem."""
    problems: list[Problem] = []
    manifest = _read_json(folder / "pack.json", "pack.json", problems)
    if manifest is not None:
        problems += list(check_schema("pack", "pack.json", manifest))
    components: dict[str, Component] = {}
    position = 0
    for sub, kind in FOLDERS.items():
        for path in sorted((folder / sub).glob("*.json")):
            rel = f"{sub}/{path.name}"
            data = _read_json(path, rel, problems)
            if not isinstance(data, dict):
                if data is not None:
                    problems.append(Problem(rel, "", "a definition file holds one JSON object"))
                continue
            problems += [Problem(rel, p.place, p.message) for p in check_schema(kind, rel, data)]
            for comp in explode(kind, data, position):
                if comp.key in components:
                    problems.append(Problem(rel, "", f"{comp.key} is defined twice in this pack"))
                components[comp.key] = comp
            position += 1000
    if problems:
        raise DefinitionError(problems)
    return PackLayer(manifest["name"], manifest["version"], manifest, components)


def dependency_problems(manifest: dict, installed: dict[str, str]) -> list[Problem]:
    """Problems with a pack's dependencies against installed ``{name: version}``."""
    problems = []
    for name, spec in manifest.get("dependencies", {}).items():
        try:
            wanted = SpecifierSet(spec)
        except InvalidSpecifier:
            problems.append(
                Problem(
                    "pack.json",
                    f"/dependencies/{name}",
                    f"{spec!r} is not a version range; write e.g. '>=0.1.0,<1.0.0'",
                )
            )
            continue
        if name not in installed:
            problems.append(
                Problem(
                    "pack.json",
                    f"/dependencies/{name}",
                    f"needs pack {name!r} ({spec}); install it first",
                )
            )
        elif Version(installed[name]) not in wanted:
            problems.append(
                Problem(
                    "pack.json",
                    f"/dependencies/{name}",
                    f"needs {name} {spec}, but {installed[name]} is installed",
                )
            )
    return problems
