"""The audit log's SQL store, its signing keys and its checkpoint and alert events."""
