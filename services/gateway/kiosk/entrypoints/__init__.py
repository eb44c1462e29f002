"""The kiosk HTTP API (FastAPI) and the static web app it serves."""
