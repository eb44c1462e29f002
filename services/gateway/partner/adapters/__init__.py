"""The partner PKI, the registry-backed partner backend and the partner event stream."""
