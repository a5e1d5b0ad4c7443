"""One router per resource: events, cameras, system (health and metrics)."""
