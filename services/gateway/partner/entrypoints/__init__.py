"""The partner-city gRPC service, its mutual-TLS server, and ``baylink pki`` for a local partner PKI."""
