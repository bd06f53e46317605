"""Fakes and helpers shipped with the package for tests and benchmarks.

- ``tether.testing.upstream``: a scriptable HTTP/1.1 upstream (in-process or as a process).
- ``tether.testing.procs``: start/stop ``python -m tether ...`` processes for end-to-end tests.
- ``tether.testing.rawhttp``: a raw-socket HTTP/1.1 client that sends exact bytes.
"""
