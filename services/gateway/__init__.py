"""The gateway: the only door from outside (kiosks over HTTP, partner cities over gRPC with mutual TLS)."""
