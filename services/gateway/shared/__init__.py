"""What several gateway capabilities share: the bulk-leak guard, field crypto, migrations, the HTTP server."""
