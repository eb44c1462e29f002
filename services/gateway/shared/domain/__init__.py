"""The bulk-leak guard's pure rules."""
