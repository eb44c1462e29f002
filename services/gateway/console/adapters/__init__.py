"""The console's user file and dead-letter replay and resolution storage."""
