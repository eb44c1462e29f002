"""Field encryption, keyed hashes and key files; the gateway database's migrations."""
