"""Binding's SQL store (sealed columns, blind indexes) and the identity report mapping."""
