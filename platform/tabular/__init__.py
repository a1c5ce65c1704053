"""Tabular files in and out: import CSV and .xlsx into objects, export list views to CSV and .xlsx."""
