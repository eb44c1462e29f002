"""The console's HTTP API (FastAPI)."""
