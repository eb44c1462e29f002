"""gRPC plumbing shared by every service: server factory, interceptors, error mapping."""
