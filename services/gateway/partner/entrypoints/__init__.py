"""The partner-city gRPC service and its mutual-TLS server."""
