"""The console API's routers, one per area, all under ``/console/api``; ``api.create_console_app`` composes them."""
