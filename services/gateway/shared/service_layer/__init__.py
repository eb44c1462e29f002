"""Enforcing the bulk-leak guard."""
