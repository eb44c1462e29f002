"""The runtime every Baylink service stands on; one copy, never one per service."""
