"""The gateway's pure model: partner cities and their scopes, the audit chain, the bulk-leak guard."""
