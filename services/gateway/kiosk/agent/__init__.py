"""The kiosk agent: the device software on a kiosk machine (see ``app.py``)."""
