"""The assignment rules service (being built)."""

from __future__ import annotations


class AssignmentService:
    def __init__(self, flows):
        self.flows = flows
