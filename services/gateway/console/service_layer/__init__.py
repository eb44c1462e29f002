"""The console's use cases: sign-in, the event hub, alerts, dead-letter resolution."""
