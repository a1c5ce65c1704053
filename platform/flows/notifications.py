"""The notifications service (being built)."""

from __future__ import annotations


class NotificationService:
    def __init__(self, flows):
        self.flows = flows
