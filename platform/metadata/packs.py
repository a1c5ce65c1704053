"""Reading a pack folder into a pack layer.

A pack is data only: ``pack.json`` plus definition files in
``objects/``, ``layouts/``, ``list_views/``, ``roles/``, ``approval_flows/``,
``automations/``, ``pools/``, ``assignment_rules/``, ``conversions/``,
``reports/`` and ``dashboards/`` (one
JSON document per file), optional ``translations/<locale>.json``,
``sample_data/`` and ``tests/``. Reading never executes anything from the pack.

A file with ``"extends": true`` extends a component that a pack it depends on
defines (see ``merge.overlay``); it is checked once merged, at build time.
Translations set label texts per locale::

    {"field:lead.status": {"label": "Statut", "values.new": "Nouveau"}}
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import semantic_version

from trellis.metadata.components import EXTENDS, Component, explode
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
    "conversions": "conversion",
    "reports": "report",
    "dashboards": "dashboard",
    "apps": "app",
}
MAX_FILE_BYTES = 2_000_000
LABEL_PROPERTIES = ("label", "plural_label", "help", "relationship_label")


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
            problems += _file_problems(kind, rel, data)
            for comp in explode(kind, data, position):
                if comp.key in components:
                    problems.append(Problem(rel, "", f"{comp.key} is defined twice in this pack"))
                components[comp.key] = comp
            position += 1000
    _translate(folder, components, problems)
    if problems:
        raise DefinitionError(problems)
    return PackLayer(manifest["name"], manifest["version"], manifest, components)


def _file_problems(kind: str, rel: str, data: dict) -> list[Problem]:
    """Schema problems of one file; an extension is checked once merged with its base."""
    if data.get(EXTENDS) is True:
        if not isinstance(data.get("api_name"), str):
            return [Problem(rel, "/api_name", "an extension names the component it extends")]
        return []
    if EXTENDS in data:
        return [Problem(rel, f"/{EXTENDS}", 'write "extends": true, or leave it out')]
    return [Problem(rel, p.place, p.message) for p in check_schema(kind, rel, data)]


def _translate(folder: Path, components: dict[str, Component], problems: list[Problem]) -> None:
    """Apply ``translations/<locale>.json`` to the label texts of this pack's components."""
    for path in sorted((folder / "translations").glob("*.json")):
        rel, locale = f"translations/{path.name}", path.stem
        texts = _read_json(path, rel, problems)
        if not isinstance(texts, dict):
            continue
        for key, props in texts.items():
            comp = components.get(key)
            if comp is None or not isinstance(props, dict):
                problems.append(
                    Problem(rel, f"/{key}", f"this pack defines no component {key!r}")
                    if comp is None
                    else Problem(rel, f"/{key}", 'give the texts as {"label": "..."}')
                )
                continue
            for prop, text in props.items():
                if not _set_text(comp.definition, prop, locale, text):
                    problems.append(
                        Problem(
                            rel,
                            f"/{key}/{prop}",
                            f"{prop!r} is not a translatable text of {key} (use one of "
                            f"{', '.join(LABEL_PROPERTIES)} or values.<value api_name>)",
                        )
                    )


def _set_text(definition: dict, prop: str, locale: str, text: Any) -> bool:
    if not isinstance(text, str) or not text:
        return False
    if prop.startswith("values."):
        value = next(
            (v for v in definition.get("values", []) if v.get("api_name") == prop[7:]), None
        )
        target = value.setdefault("label", {}) if value else None
    else:
        target = definition.setdefault(prop, {}) if prop in LABEL_PROPERTIES else None
    if not isinstance(target, dict):
        return False
    target[locale] = text
    return True


def version_range(spec: str) -> semantic_version.NpmSpec:
    """An npm-style range (``^1``, ``~1.2``, ``>=1.0.0 <2.0.0``); ValueError when malformed.

    Commas are accepted as separators too (``>=0.1.0,<1.0.0``).
    """
    return semantic_version.NpmSpec(" ".join(spec.replace(",", " ").split()))


def version(text: str) -> semantic_version.Version:
    return semantic_version.Version(text)


def dependency_problems(manifest: dict, installed: dict[str, str]) -> list[Problem]:
    """Problems with a pack's dependencies against installed ``{name: version}``."""
    problems = []
    for name, spec in manifest.get("dependencies", {}).items():
        place = f"/dependencies/{name}"
        try:
            wanted = version_range(spec)
        except ValueError:
            problems.append(
                Problem("pack.json", place, f"{spec!r} is not a version range; write e.g. '^1'")
            )
            continue
        if name not in installed:
            problems.append(
                Problem("pack.json", place, f"needs pack {name!r} ({spec}); install it first")
            )
        elif not wanted.match(version(installed[name])):
            problems.append(
                Problem(
                    "pack.json",
                    place,
                    f"needs {name} {spec}, but {installed[name]} is installed",
                )
            )
    return problems


def dependents(name: str, manifests: dict[str, dict]) -> list[str]:
    """Installed packs (``{name: manifest}``) that depend on pack ``name``."""
    return sorted(n for n, m in manifests.items() if name in m.get("dependencies", {}))
