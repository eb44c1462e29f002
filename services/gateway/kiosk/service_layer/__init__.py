"""The kiosk's use cases, their view models and ports, sessions and guarded, audited access."""
