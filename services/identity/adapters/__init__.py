"""Engines behind the identity domain.

X.509 path validation (pyhanko-certvalidator), SM2 (tongsuopy), revocation fetching and
caching, CMS and trust-list signatures.
"""
