"""Cases checked against the installed definitions and the sample organisation.

A case naming an object, field, record, user, role, flow, node, automation or
pool that does not exist is broken, not failed: it is reported as a problem
at its place (file and JSON pointer) and not run, so a typo reads as a typo
rather than as a puzzling failure of the pack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trellis.metadata.definitions import Definitions
from trellis.metadata.problems import Problem
from trellis.packtests.automation_check import key_of
from trellis.packtests.cases import (
    ApprovalCheck,
    AutomationCheck,
    CaseDef,
    ExpectedState,
    ValidationCheck,
)


class _Checker:
    def __init__(self, defs: Definitions, users: set[str], case: CaseDef):
        self.defs = defs
        self.users = users
        self.case = case
        self.refs: dict[str, str] = {}  # _ref → object
        self.problems: list[Problem] = []

    def problem(self, place: str, message: str) -> None:
        self.problems.append(Problem(self.case.file, f"{self.case.pointer}{place}", message))

    # -- names ---------------------------------------------------------------------------

    def user(self, place: str, username: str | None, *, absolute: bool = False) -> None:
        if username is not None and username not in self.users:
            message = (
                f"there is no user {username!r} in the sample organisation; users: "
                f"{', '.join(sorted(self.users))}"
            )
            if absolute:
                self.problems.append(Problem(self.case.file, place, message))
            else:
                self.problem(place, message)

    def object(self, place: str, name: str) -> bool:
        found = self.defs.objects.get(name)
        if found is None or found.archived:
            known = ", ".join(sorted(n for n, o in self.defs.objects.items() if not o.archived))
            self.problem(place, f"there is no object {name!r}; objects: {known}")
            return False
        return True

    def fields(self, place: str, object_name: str, values: Mapping[str, Any]) -> None:
        fields = self.defs.objects[object_name].by_name
        for name, value in values.items():
            field = fields.get(name)
            if field is None or field.archived:
                self.problem(
                    f"{place}/{name}",
                    f"{object_name} has no field {name!r}; check the spelling (field api_names "
                    f"of {object_name}: {', '.join(sorted(fields))})",
                )
            elif field.type == "lookup" and isinstance(value, str) and value.startswith("#"):
                self.ref(f"{place}/{name}", value)

    def ref(self, place: str, ref: str) -> str | None:
        """The object of ``#ref``; a problem unless a given record of this case has it."""
        found = self.refs.get(ref.removeprefix("#"))
        if found is None:
            named = ", ".join(f"#{r}" for r in self.refs) or "none"
            self.problem(
                place,
                f"{ref!r} names no record given before it in this case (named records: {named})",
            )
        return found

    def state(self, place: str, object_name: str, then: ExpectedState) -> None:
        self.fields(f"{place}/fields", object_name, then.fields)
        for i, note in enumerate(then.notified or ()):
            self.user(f"{place}/notified/{i}", note.user)
        if then.pool is not None and f"{object_name}.{then.pool}" not in self.defs.pools:
            pools = [k.split(".", 1)[1] for k in self.defs.pools if k.startswith(object_name)]
            self.problem(
                f"{place}/pool",
                f"{object_name} has no pool {then.pool!r}; its pools: {', '.join(pools) or 'none'}",
            )

    # -- the parts of a case -------------------------------------------------------------------

    def given(self) -> None:
        self.user(self.case.user_pointer, self.case.user, absolute=True)
        start = len(self.case.pointer)
        for record in self.case.given:
            place = record.pointer[start:]
            block = place.rsplit("/records/", 1)[0]
            self.user(f"{place}/owner", record.owner)
            self.user(f"{block}/as", record.as_user)
            if not self.object(f"{block}/object", record.object_name):
                continue
            self.fields(place, record.object_name, record.values)
            if record.ref is not None:
                if record.ref in self.refs:
                    self.problem(f"{place}/_ref", f"#{record.ref} names two records; rename one")
                self.refs[record.ref] = record.object_name

    def validation(self, check: ValidationCheck) -> None:
        place = "/validation"
        self.user(f"{place}/as", check.as_user)
        if check.update is not None:
            object_name = self.ref(f"{place}/update", check.update)
        elif self.object(f"{place}/create", check.object_name):
            object_name = check.object_name
        else:
            object_name = None
        if object_name is None:
            return
        self.fields(f"{place}/values", object_name, check.values)
        definition = self.defs.objects[object_name]
        rules = {r.api_name for r in definition.validation_rules}
        for i, error in enumerate(check.fails or ()):
            if error.field is not None and error.field not in definition.by_name:
                self.problem(
                    f"{place}/fails/{i}/field", f"{object_name} has no field {error.field!r}"
                )
            if error.rule is not None and error.rule not in rules:
                self.problem(
                    f"{place}/fails/{i}/rule",
                    f"{object_name} has no validation rule {error.rule!r}; its rules: "
                    f"{', '.join(sorted(rules)) or 'none'}",
                )
        self.state(place, object_name, check.then)

    def approval(self, check: ApprovalCheck) -> None:
        place = "/approval"
        self.user(f"{place}/as", check.as_user)
        object_name = self.ref(f"{place}/submit", check.record)
        if object_name is None:
            return
        flows = {
            f.api_name: f for f in self.defs.approval_flows.values() if f.object_name == object_name
        }
        if check.flow is not None and check.flow not in flows:
            self.problem(
                f"{place}/flow",
                f"{object_name} has no approval flow {check.flow!r}; its flows: "
                f"{', '.join(sorted(flows)) or 'none'}",
            )
            return
        chosen = [flows[check.flow]] if check.flow else list(flows.values())
        nodes = {n for f in chosen for n in f.nodes}
        for i, step in enumerate(check.steps):
            here = f"{place}/steps/{i}"
            if step.node is not None and step.node not in nodes:
                self.problem(
                    f"{here}/node",
                    f"no approval flow of {object_name} has a node {step.node!r}; nodes: "
                    f"{', '.join(sorted(nodes)) or 'none'}",
                )
            for j, user in enumerate(step.users or ()):
                self.user(f"{here}/users/{j}", user)
            self.user(f"{here}/as", step.as_user)
            for j, role in enumerate(step.roles or ()):
                if role not in self.defs.roles:
                    self.problem(
                        f"{here}/roles/{j}",
                        f"there is no role {role!r}; roles: {', '.join(sorted(self.defs.roles))}",
                    )
        self.state(place, object_name, check.then)

    def automation(self, check: AutomationCheck) -> None:
        place = "/automation"
        object_name = self.ref(f"{place}/record", check.record)
        if object_name is None:
            return
        key = key_of(check.name, object_name)
        automation = self.defs.automations.get(key)
        if automation is None:
            mine = [k for k, a in self.defs.automations.items() if a.object_name == object_name]
            self.problem(
                f"{place}/name",
                f"there is no automation {key!r}; automations of {object_name}: "
                f"{', '.join(sorted(mine)) or 'none'}",
            )
            return
        if automation.object_name != object_name:
            self.problem(
                f"{place}/record",
                f"automation {key} runs on {automation.object_name}, not on {object_name}",
            )
            return
        self._timing(place, key, automation.trigger.type, check)
        if check.update is not None:
            self.user(f"{place}/update/as", check.update.as_user)
            self.fields(f"{place}/update/values", object_name, check.update.values)
        self.state(place, object_name, check.then)

    def _timing(self, place: str, key: str, trigger: str, check: AutomationCheck) -> None:
        if trigger == "time" and check.fires_at is None:
            self.problem(
                place,
                f"automation {key} is time-triggered: say when it fires with fires_at",
            )
        elif trigger != "time" and check.fires_at is not None:
            self.problem(
                f"{place}/fires_at",
                f"automation {key} is triggered by {trigger!r}, not by time: it runs in the "
                "write itself; leave out fires_at",
            )


def case_problems(defs: Definitions, users: set[str], case: CaseDef) -> list[Problem]:
    """Every name in ``case`` that the definitions or the organisation do not have."""
    checker = _Checker(defs, users, case)
    checker.given()
    getattr(checker, case.kind)(case.check)
    return checker.problems
