"""The shape of an approval flow, checked as a graph (networkx) when it loads.

One start, every node reachable from it, an end reachable from every node,
no cycles, every ``next`` naming a node, condition branches with at most one
'otherwise' (last), and the branches of a parallel node meeting at its join
before any end. A flow that passes cannot get stuck at approval time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import networkx as nx

from trellis.metadata.flow_scope import a
from trellis.metadata.problems import Problem

#: Node types that go on to one ``next`` node.
WITH_NEXT = ("approval", "join", "notify")


def start_of(raw: dict[str, Any]) -> str:
    """The start node: ``start``, or the first node."""
    return raw.get("start") or raw["nodes"][0]["id"]


def problems(key: str, raw: dict[str, Any]) -> list[Problem]:
    """Every problem with the graph of a schema-valid approval flow ``raw``."""
    nodes: Sequence[dict[str, Any]] = raw["nodes"]
    out = list(_duplicate_ids(key, nodes))
    index = _first_index(nodes)
    graph = nx.DiGraph()
    graph.add_nodes_from(index)
    for i, node in enumerate(nodes):
        for place, target in _exits(node):
            if target in index:
                graph.add_edge(node["id"], target)
            else:
                out.append(_unknown(key, f"/nodes/{i}{place}", target, index))
    start = start_of(raw)
    if start not in index:
        out.append(_unknown(key, "/start", start, index))
        return out
    out += _cycles(key, graph, index)
    out += _unreachable(key, graph, index, start)
    out += _dead_ends(key, graph, nodes, index)
    out += _branch_order(key, nodes)
    out += _parallels(key, graph, nodes, index)
    out += _joins(key, nodes)
    return out


def _first_index(nodes: Sequence[dict[str, Any]]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, node in enumerate(nodes):
        index.setdefault(node["id"], i)
    return index


def _exits(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(place inside the node, target id) of every way out of ``node``."""
    if "next" in node and node["type"] in WITH_NEXT:
        yield "/next", node["next"]
    if node["type"] == "condition":
        for j, branch in enumerate(node["branches"]):
            yield f"/branches/{j}/next", branch["next"]
    elif node["type"] == "parallel":
        for j, branch in enumerate(node["branches"]):
            yield f"/branches/{j}", branch


def _unknown(key: str, place: str, target: str, index: dict[str, int]) -> Problem:
    return Problem(key, place, f"there is no node {target!r}; known nodes: {', '.join(index)}")


def _duplicate_ids(key: str, nodes: Sequence[dict[str, Any]]) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, node in enumerate(nodes):
        if node["id"] in seen:
            yield Problem(
                key,
                f"/nodes/{i}/id",
                f"node id {node['id']!r} is already used by node {seen[node['id']]}; "
                "node ids must be unique",
            )
        else:
            seen[node["id"]] = i


def _cycles(key: str, graph: nx.DiGraph, index: dict[str, int]) -> Iterator[Problem]:
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    path = " → ".join([edge[0] for edge in cycle] + [cycle[0][0]])
    yield Problem(
        key,
        f"/nodes/{index[cycle[0][0]]}",
        f"the nodes form a cycle: {path}; an approval flow runs forward only "
        '(send a rejection back with "to_node" instead of a loop)',
    )


def _unreachable(
    key: str, graph: nx.DiGraph, index: dict[str, int], start: str
) -> Iterator[Problem]:
    reached = nx.descendants(graph, start) | {start}
    for node_id, i in index.items():
        if node_id not in reached:
            yield Problem(
                key,
                f"/nodes/{i}",
                f"node {node_id!r} cannot be reached from the start node {start!r}; "
                "point a 'next' or a branch at it, or remove it",
            )


def _dead_ends(
    key: str, graph: nx.DiGraph, nodes: Sequence[dict[str, Any]], index: dict[str, int]
) -> Iterator[Problem]:
    ends = {node["id"] for node in nodes if node["type"] == "end"}
    if not ends:
        yield Problem(
            key,
            "/nodes",
            'the flow has no end node; add {"id": "end", "type": "end"} and lead to it',
        )
        return
    for node_id, i in index.items():
        if node_id not in ends and not (nx.descendants(graph, node_id) & ends):
            yield Problem(
                key,
                f"/nodes/{i}",
                f"there is no way from node {node_id!r} to an end node; "
                "every path must finish at a node of type 'end'",
            )


def _branch_order(key: str, nodes: Sequence[dict[str, Any]]) -> Iterator[Problem]:
    for i, node in enumerate(nodes):
        if node["type"] != "condition":
            continue
        last = len(node["branches"]) - 1
        for j, branch in enumerate(node["branches"]):
            if "when" not in branch and j != last:
                yield Problem(
                    key,
                    f"/nodes/{i}/branches/{j}",
                    f"branch {j} of {node['id']!r} has no 'when' but is not the last branch; "
                    "only one 'otherwise' branch is allowed, and it comes last",
                )


def _parallels(
    key: str, graph: nx.DiGraph, nodes: Sequence[dict[str, Any]], index: dict[str, int]
) -> Iterator[Problem]:
    ends = {node["id"] for node in nodes if node["type"] == "end"}
    for i, node in enumerate(nodes):
        if node["type"] != "parallel":
            continue
        join = node["join"]
        if join not in index:
            yield _unknown(key, f"/nodes/{i}/join", join, index)
            continue
        if nodes[index[join]]["type"] != "join":
            yield Problem(
                key,
                f"/nodes/{i}/join",
                f"{join!r} is {a(nodes[index[join]]['type'])} node; "
                "a parallel node's branches meet at a node of type 'join'",
            )
            continue
        without_join = graph.subgraph(n for n in graph if n != join)
        for j, branch in enumerate(node["branches"]):
            yield from _branch_meets_join(
                key, f"/nodes/{i}/branches/{j}", branch, join, ends, without_join
            )


def _joins(key: str, nodes: Sequence[dict[str, Any]]) -> Iterator[Problem]:
    """Each join belongs to exactly one parallel node: it waits for that node's branches."""
    owners: dict[str, list[str]] = {}
    for node in nodes:
        if node["type"] == "parallel":
            owners.setdefault(node["join"], []).append(node["id"])
    for i, node in enumerate(nodes):
        if node["type"] != "join":
            continue
        parallels = owners.get(node["id"], [])
        if not parallels:
            yield Problem(
                key,
                f"/nodes/{i}",
                f"join {node['id']!r} is not the join of any parallel node, so it would wait "
                "for nothing; name it in a parallel node's 'join' or remove it",
            )
        elif len(parallels) > 1:
            yield Problem(
                key,
                f"/nodes/{i}",
                f"join {node['id']!r} is the join of {', '.join(map(repr, parallels))}; "
                "give each parallel node its own join",
            )


def _branch_meets_join(
    key: str, place: str, branch: str, join: str, ends: set[str], without_join: nx.DiGraph
) -> Iterator[Problem]:
    if branch == join:
        yield Problem(key, place, f"a branch cannot be the join {join!r} itself")
        return
    if branch not in without_join:
        return  # reported as an unknown node
    skipped = sorted((nx.descendants(without_join, branch) | {branch}) & ends)
    if skipped:
        yield Problem(
            key,
            place,
            f"branch {branch!r} can reach the end {skipped[0]!r} without passing the join "
            f"{join!r}; every branch must lead to its join",
        )
