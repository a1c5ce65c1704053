"""The tables one report reads: its object's table, joined to each looked-up table it names.

A path ``account.region`` becomes a LEFT OUTER JOIN to the account table (one
alias per lookup, however often it is named), so records without an account
still count, under a blank region.
"""

from __future__ import annotations

import sqlalchemy as sa

from trellis.runtime.compiled import CompiledMetadata


class Sources:
    def __init__(self, compiled: CompiledMetadata, object_name: str, alias: str | None = None):
        self.compiled = compiled
        self.rt = compiled.objects[object_name]
        # An alias keeps a correlated subquery on the same table apart from the outer query.
        self.table = self.rt.table.alias(alias) if alias else self.rt.table
        self.prefix = f"{alias}_" if alias else ""
        self.aliases: dict[str, sa.Alias] = {}

    @property
    def definition(self):
        return self.rt.definition

    def column(self, path: str) -> sa.ColumnElement:
        head, dot, tail = path.partition(".")
        if not dot:
            return self.table.c[head]
        alias = self.aliases.get(head)
        if alias is None:
            target = self.definition.by_name[head].options["target"]
            alias = self.compiled.objects[target].table.alias(f"{self.prefix}via_{head}")
            self.aliases[head] = alias
        return alias.c[tail]

    def field(self, path: str):
        """The FieldDef a path ends at."""
        head, dot, tail = path.partition(".")
        f = self.definition.by_name[head]
        if not dot:
            return f
        return self.compiled.objects[f.options["target"]].definition.by_name[tail]

    def from_clause(self) -> sa.FromClause:
        """Call after every column is resolved: only the lookups named are joined."""
        clause: sa.FromClause = self.table
        for head, alias in self.aliases.items():
            clause = clause.outerjoin(alias, alias.c.id == self.table.c[head])
        return clause
