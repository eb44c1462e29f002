"""The tamper-evident audit log: a hash chain of every gateway call, signed checkpoints, offline verification."""
