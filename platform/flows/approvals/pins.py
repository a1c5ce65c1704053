"""Pinned flow versions: an instance runs on the definition it was submitted with.

The instance stores the flow's JSON (``FlowDef.source``) and the metadata
version. Acting on it rebuilds the FlowDef from that JSON once per
(flow, version) and keeps it; while the flow is unchanged the current
FlowDef is used as it is.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from trellis.metadata.flow_definitions import FlowDef
from trellis.runtime.errors import Conflict

#: How many pinned versions one process keeps built.
CACHE_SIZE = 256


class PinnedFlows:
    def __init__(self):
        self._built: OrderedDict[tuple[str, int], FlowDef] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, flow: FlowDef, version: int) -> None:
        self._keep((flow.key, version), flow)

    def flow(self, compiled, instance: dict[str, Any]) -> FlowDef:
        """The FlowDef ``instance`` was submitted with."""
        key = (instance["flow"], instance["metadata_version"])
        with self._lock:
            if key in self._built:
                self._built.move_to_end(key)
                return self._built[key]
        current = compiled.definitions.approval_flows.get(instance["flow"])
        if current is not None and dict(current.source) == instance["definition"]:
            flow = current
        else:
            flow = _rebuild(compiled, instance)
        self._keep(key, flow)
        return flow

    def _keep(self, key: tuple[str, int], flow: FlowDef) -> None:
        with self._lock:
            self._built[key] = flow
            while len(self._built) > CACHE_SIZE:
                self._built.popitem(last=False)


def _rebuild(compiled, instance: dict[str, Any]) -> FlowDef:
    from trellis.metadata.flow_build import flow_from_json
    from trellis.metadata.problems import DefinitionError

    try:
        return flow_from_json(dict(instance["definition"]), compiled.definitions)
    except DefinitionError as exc:
        raise Conflict(
            f"approval {instance['id']} runs flow {instance['flow']} as it was at metadata "
            f"version {instance['metadata_version']}, which no longer fits today's definitions "
            f"({exc}); an administrator can recall it and submit again",
        ) from None
