"""Benchmarks run by `make bench`; each prints its figures (and ratios against a baseline measured in the same run)."""
