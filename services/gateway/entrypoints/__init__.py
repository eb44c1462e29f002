"""The gateway's entrypoints: the partner-city gRPC service over mutual TLS."""
