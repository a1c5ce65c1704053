"""REST endpoints of the flow engine, registered on the ``/api/v1`` blueprint."""
