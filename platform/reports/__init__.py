"""Reports and dashboards: report definitions run as aggregate SQL with the viewer's data scope."""
