"""Development tools: never imported by production code, not installed with the services.

Run from the repository root (``python -m devtools.testpki …``), as the tests and benchmarks do.
"""
