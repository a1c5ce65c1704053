"""The pools service (being built)."""

from __future__ import annotations


class PoolService:
    def __init__(self, flows):
        self.flows = flows
