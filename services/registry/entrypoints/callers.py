"""Who may call which RegistryService RPC (checked by baylink/runtime/grpc/authz.py).

Every registry RPC is reached through the gateway: the kiosk API for applicants, the partner-city
port for reviewing cities, the console for operators. No other service calls the registry.
"""

from __future__ import annotations

from baylink.registry.v1 import registry_service_pb2 as api

_SERVICE = api.DESCRIPTOR.services_by_name["RegistryService"]

CALLERS: dict[str, frozenset[str]] = {
    f"/{_SERVICE.full_name}/{method.name}": frozenset({"gateway"}) for method in _SERVICE.methods
}
