"""REST endpoints of the flow engine, registered on the ``/api/v1`` blueprint."""

from trellis.flows.api import (
    approvals,  # noqa: F401
    automations,  # noqa: F401
    jobs,  # noqa: F401
    notifications,  # noqa: F401
    pools,  # noqa: F401
)
