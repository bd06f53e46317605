"""Resource listings (Istio and SMI YAML) that several test files apply, kept once."""

from __future__ import annotations

# The book's circuit-breaker and retry listings, verbatim (unit, CLI and end-to-end tests use them).
BOOK_DR = """\
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: order-circuit-breaker
spec:
  host: order.default.svc.cluster.local
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 1
      http:
        http1MaxPendingRequests: 1
        http2MaxRequests: 1
    outlierDetection:
      consecutiveErrors: 1
      interval: 1m
      baseEjectionTime: 10m
      maxEjectionPercent: 100
"""

BOOK_VS = """\
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: order-retry
spec:
  hosts:
  - order.default.svc.cluster.local
  http:
  - retries:
      attempts: 20
      perTryTimeout: 5s
      retryOn: connect-failure,5xx
    timeout: 10s
    route:
    - destination:
        host: order.default.svc.cluster.local
"""

# SMI: service account ``web`` may GET ``/feed*`` on ``order`` (both in ``default``); nothing else may.
WEB_READS_ORDER_FEED = """\
apiVersion: specs.smi-spec.io/v1alpha4
kind: HTTPRouteGroup
metadata: {name: api}
spec:
  matches: [{name: reads, pathRegex: "/feed.*", methods: [GET]}]
---
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: web-to-order}
spec:
  destination: {kind: ServiceAccount, name: order, namespace: default}
  rules: [{kind: HTTPRouteGroup, name: api, matches: [reads]}]
  sources: [{kind: ServiceAccount, name: web, namespace: default}]
"""
