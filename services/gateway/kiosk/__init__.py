"""The kiosk: the HTTP API and web app that people use in person, with sessions in the gateway database."""
