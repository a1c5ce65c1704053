"""The approval flows (issue 3, in progress) service (being built)."""

from __future__ import annotations


class ApprovalService:
    def __init__(self, flows):
        self.flows = flows
