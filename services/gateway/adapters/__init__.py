"""The gateway's adapters: SQLAlchemy audit store, signing keys, the partner PKI, event mapping."""
