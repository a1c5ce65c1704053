"""The automations service (being built)."""

from __future__ import annotations


class AutomationService:
    def __init__(self, flows):
        self.flows = flows
