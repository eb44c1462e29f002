"""The audit log's command line: ``baylink audit verify``, an offline check of the stored log."""
