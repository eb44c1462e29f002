"""The gateway's use cases: audit logging and verification, partner-city access, the bulk-leak guard."""
