"""The definitions conformance suite: every file under tests/definitions/valid
must build; every file under tests/definitions/invalid must be refused with
at least the listed problems (each at its place), all reported in one go."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trellis.metadata import DefinitionError, build, explode
from trellis.metadata.packs import FOLDERS

HERE = Path(__file__).parent.parent / "definitions"


#: The lists a case may hold, by the component kind of their entries: a pack's folders.
KINDS = FOLDERS


def _components(case: dict) -> dict:
    components = {}
    for prop, kind in KINDS.items():
        for definition in case.get(prop, []):
            for comp in explode(kind, definition):
                components[comp.key] = comp
    return components


def _cases(folder: str):
    return sorted((HERE / folder).glob("*.json"), key=lambda p: p.name)


@pytest.mark.parametrize("path", _cases("valid"), ids=lambda p: p.stem)
def test_valid_definitions_build(path):
    case = json.loads(path.read_text("utf-8"))
    definitions = build(_components(case))
    for obj in case["objects"]:
        built = definitions.objects[obj["api_name"]]
        assert [f.api_name for f in built.fields if not f.system] == [
            f["api_name"] for f in obj.get("fields", [])
        ]
    for prop in ("approval_flows", "automations", "pools", "assignment_rules"):
        built = getattr(definitions, prop)
        assert sorted(built) == sorted(f"{d['object']}.{d['api_name']}" for d in case.get(prop, []))


@pytest.mark.parametrize("path", _cases("invalid"), ids=lambda p: p.stem)
def test_invalid_definitions_report_every_problem_with_its_place(path):
    case = json.loads(path.read_text("utf-8"))
    with pytest.raises(DefinitionError) as caught:
        build(_components(case))
    problems = [p.as_json() for p in caught.value.problems]
    for expected in case["expect"]:
        matching = [
            p
            for p in problems
            if expected.get("pointer", "") in p["pointer"]
            and expected.get("message", "") in p["message"]
        ]
        assert matching, f"expected a problem like {expected} among:\n" + "\n".join(
            f"  {p}" for p in problems
        )
    for problem in problems:
        assert problem["message"][0].isalpha() or problem["message"][0] in "'\"`("
