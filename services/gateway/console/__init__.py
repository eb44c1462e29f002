"""The operator console: login, live event tail, flows, dead letters, alerts (HTTP + static web app)."""
