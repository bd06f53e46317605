"""Sidecar identity and mutual TLS: certificates, contexts, the inbound gate, outbound checks."""
