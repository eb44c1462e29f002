"""Appending to the audit log, checkpointing it, verifying it; the ports it needs."""
