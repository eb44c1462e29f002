"""The embedded HTTP server the kiosk and console run on."""
