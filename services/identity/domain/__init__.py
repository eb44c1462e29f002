"""Pure model of the identity service: trust lists, validation policy and reports.

Imports nothing but the standard library: X.509 and signature crypto live in the adapters.
"""
