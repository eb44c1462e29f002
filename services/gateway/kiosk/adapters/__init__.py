"""Kiosk sessions stored in the gateway database, personal fields sealed."""
