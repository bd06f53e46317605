"""Authorization: the pure decision engine behind ``tether.proxy.filters.authz``."""
