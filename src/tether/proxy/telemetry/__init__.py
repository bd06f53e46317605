"""The proxy's side of telemetry: spans, exporters, and the push to the control plane."""
