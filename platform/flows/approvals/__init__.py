"""Approval flows at run time: instances, tasks, the record lock and SLA jobs.

``ApprovalService`` (``runtime.flows.approvals``) is the entry point; the
modules behind it are one idea each: ``routing`` walks the node graph,
``tasks`` creates and decides tasks by mode, ``lock`` keeps a pending
record unchanged, ``sla`` and ``escalation`` run the timed steps,
``history`` records every action, ``pins`` keeps an instance on the flow
version it was submitted with, ``view`` shapes answers.
"""

from __future__ import annotations

from trellis.flows.approvals.service import ApprovalService

__all__ = ["ApprovalService"]
