"""gRPC clients of the services behind the gateway (identity, registry, payments)."""
