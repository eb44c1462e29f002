"""Test PKI for HK, MO and GD. TEST MATERIAL ONLY.

Generator (`python -m devtools.testpki`), loader, CMS signer and a live CRL/OCSP responder.
"""
