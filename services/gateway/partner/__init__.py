"""Partner cities: the gRPC API over mutual TLS, its scopes and authorities, its PKI and event stream."""
