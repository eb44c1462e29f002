"""The console's HTTP API (FastAPI routers composed by ``api``), its listener, and ``baylink console``."""
