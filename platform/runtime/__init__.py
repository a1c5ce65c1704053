"""The runtime: schema sync, the records service, queries, permissions,
authentication and the web API, all driven by compiled metadata.

Start with ``Runtime`` (one per database): ``Runtime(url).records`` is the
records service and ``.metadata`` the metadata API.
"""
