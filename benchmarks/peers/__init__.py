"""Helpers for ``benchmarks/proxy.py``: config templates, wrk parsing, processes, reports."""
