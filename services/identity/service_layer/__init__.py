"""Use cases of the identity service: load trust lists, validate certificates, verify signatures."""
