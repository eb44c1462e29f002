"""Identity service: trust lists and validation of e-signature certificates and signatures.

Mutually recognised certificates of Hong Kong, Macau and Guangdong CAs are judged in the
ETSI EN 319 102-1 model against ETSI TS 119 612-style trust lists.
"""
