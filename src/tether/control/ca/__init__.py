"""The mesh certificate authority: root, workload certificates, join tokens (docs/security.md)."""
