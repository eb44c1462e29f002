"""Binding's pure rules: documents, names, merging, verification."""
