"""Binding's use cases, their ports, and the decision recorder that audits them."""
