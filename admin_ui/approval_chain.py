"""An approval flow's graph as the designer draws it: a vertical chain of steps.

Chinese approval tools (钉钉, 飞书) draw a flow as one column from start to end; a condition
or a parallel step splits the column into side-by-side branches that meet again below it.
``chain_of`` reads a flow's nodes into that shape (the designer's cards are rendered from
it); the designer's script writes the shape back into nodes. A graph that does not fit the
shape (a branch running into the middle of another) is edited as JSON instead.

``problems_at`` files each problem of a refused definition under the card its JSON pointer
(``/nodes/2/approvers/0``) points to, so the designer shows it at that node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

#: The virtual node every end node leads to, so branches have one place to meet.
SINK = "\0end"


class NotAChain(ValueError):
    """The graph cannot be drawn as a chain of steps."""


@dataclass
class Branch:
    steps: list[Step]
    when: str | None = None


@dataclass
class Step:
    """One card of the chain: an approval, CC, condition or parallel node (with its join)."""

    node: dict[str, Any]
    branches: list[Branch] = field(default_factory=list)
    join: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        return self.node["type"]


@dataclass
class Chain:
    steps: list[Step]
    end_id: str = "end"


def chain_of(raw: dict[str, Any]) -> Chain:
    """The flow's nodes as a chain; NotAChain when the graph has another shape."""
    nodes = {n["id"]: n for n in raw.get("nodes", ())}
    if len(nodes) != len(raw.get("nodes", ())):
        raise NotAChain("two nodes share an id")
    ends = [i for i, n in nodes.items() if n["type"] == "end"]
    reader = _Reader(nodes, _post_dominators(nodes))
    start = raw.get("start") or next(iter(nodes), None)
    steps = reader.steps(start, SINK) if start is not None else []
    if reader.placed | set(ends) != set(nodes):
        raise NotAChain("some nodes are not on the way from the start to an end")
    return Chain(steps, ends[0] if ends else "end")


def _exits(node: dict[str, Any]) -> list[str]:
    if node["type"] == "end":
        return [SINK]
    if node["type"] == "condition":
        return [b.get("next") for b in node.get("branches", ()) if isinstance(b, dict)]
    if node["type"] == "parallel":
        return list(node.get("branches", ()))
    return [node["next"]] if node.get("next") else []


def _post_dominators(nodes: dict[str, dict[str, Any]]) -> dict[str, str]:
    graph = nx.DiGraph()
    graph.add_node(SINK)
    for node_id, node in nodes.items():
        for target in _exits(node):
            if target not in nodes and target != SINK:
                raise NotAChain(f"{node_id} leads to an unknown node {target}")
            graph.add_edge(node_id, target)
    if not nx.is_directed_acyclic_graph(graph):
        raise NotAChain("the graph has a cycle")
    reverse = graph.reverse(copy=False)
    return nx.immediate_dominators(reverse, SINK)


class _Reader:
    def __init__(self, nodes, post_dominators):
        self.nodes = nodes
        self.after = post_dominators
        self.placed: set[str] = set()

    def steps(self, current: str, stop: str) -> list[Step]:
        """The steps from ``current`` up to (not including) ``stop``."""
        out: list[Step] = []
        while current != stop:
            node = self.nodes.get(current)
            if node is None or node["type"] == "end":
                if stop == SINK:
                    return out
                raise NotAChain(f"a branch ends before it meets the others at {stop}")
            if node["type"] == "join" or current in self.placed:
                raise NotAChain(f"{current} is reached from two places")
            self.placed.add(current)
            step, current = self._step(node)
            out.append(step)
        return out

    def _step(self, node: dict[str, Any]) -> tuple[Step, str]:
        if node["type"] == "condition":
            meet = self.after.get(node["id"], SINK)
            branches = [
                Branch(self.steps(b["next"], meet), b.get("when")) for b in node["branches"]
            ]
            return Step(node, branches), meet
        if node["type"] == "parallel":
            join = self.nodes.get(node.get("join"))
            if join is None or join["type"] != "join":
                raise NotAChain(f"{node['id']} has no join node")
            self.placed.add(join["id"])
            branches = [Branch(self.steps(b, join["id"])) for b in node["branches"]]
            return Step(node, branches, join), join.get("next", SINK)
        return Step(node), node.get("next", SINK)


# -- problems at their node ---------------------------------------------------------------


@dataclass
class Problems:
    """A refused definition's problems by where the designer shows them."""

    nodes: dict[str, list[str]] = field(default_factory=dict)  # node id -> messages
    branches: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    flow: dict[str, list[str]] = field(default_factory=dict)  # "/entry_criteria" -> messages
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.nodes or self.branches or self.flow or self.general)

    def count(self) -> int:
        groups = (*self.nodes.values(), *self.branches.values(), *self.flow.values())
        return sum(map(len, groups)) + len(self.general)


def problems_at(details: list[dict[str, Any]], key: str, raw: dict[str, Any]) -> Problems:
    """File each ``{"pointer", "message"}`` under its node, branch or flow setting."""
    found = Problems()
    nodes = raw.get("nodes") if isinstance(raw.get("nodes"), list) else []
    joins = {n.get("join"): n.get("id") for n in nodes if isinstance(n, dict) and n.get("join")}
    for problem in details:
        pointer, message = str(problem.get("pointer", "")), str(problem.get("message", ""))
        if not pointer.startswith(key) or pointer[len(key) : len(key) + 1] not in ("", "/"):
            found.general.append(f"{pointer}: {message}" if pointer else message)
            continue
        parts = pointer[len(key) :].split("/")[1:]
        _file(found, parts, message, nodes, joins)
    return found


def _file(found: Problems, parts: list[str], message: str, nodes, joins) -> None:
    if (
        len(parts) >= 2
        and parts[0] == "nodes"
        and parts[1].isdigit()
        and int(parts[1]) < len(nodes)
    ):
        node = nodes[int(parts[1])]
        node_id = str(node.get("id", "")) if isinstance(node, dict) else ""
        node_id = joins.get(node_id, node_id)  # a join's problem shows on its parallel card
        if node.get("type") == "condition" and parts[2:3] == ["branches"] and len(parts) > 3:
            if parts[3].isdigit():
                found.branches.setdefault((node_id, int(parts[3])), []).append(message)
                return
        found.nodes.setdefault(node_id, []).append(message)
        return
    place = "/" + parts[0] if parts else ""
    found.flow.setdefault(place, []).append(message)
