"""The records service: the one write path for business records.

Pages, the REST API, imports and flow actions all create, update and delete
records through ``RecordsService`` so that coercion, defaults, formulas,
validation, duplicate rules, permissions, versioning, history, roll-ups and
events apply the same way everywhere.
"""

from trellis.runtime.records.service import RecordResult, RecordsService

__all__ = ["RecordResult", "RecordsService"]
