"""Fakes and helpers shipped with the package for tests and benchmarks.

Test files cannot import each other (pytest runs with ``--import-mode=importlib``), so a
helper that more than one test file needs lives here, once.

- ``tether.testing.upstream``: a scriptable HTTP/1.1 upstream (in-process or as a process).
- ``tether.testing.procs``: start/stop ``python -m tether ...`` processes (``tether demo`` too).
- ``tether.testing.rawhttp``: a raw-socket HTTP/1.1 client that sends exact bytes.
- ``tether.testing.sidecar``: static-mode sidecars, ServiceEntry YAML, Prometheus samples.
- ``tether.testing.mesh``: a control plane as a process with its sidecars, or on a thread.
- ``tether.testing.listings``: Istio and SMI YAML that several tests apply.
- ``tether.testing.routed`` and ``tether.testing.factories``: routing tables, exchanges and
  response bodies for unit tests of proxy logic, without sockets.
- ``tether.testing.browser``: Debian's headless Chromium through Playwright; ``tether.testing.needs``:
  a missing tool skips a test (fails it under CI=true).
- ``tether.testing.clock`` and ``tether.testing.collector``: a manual clock; span collectors.
"""
