"""The generated pages business users work in (Jinja2, htmx, ECharts)."""
