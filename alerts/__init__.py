"""Alert publishing to departments: departments, durable outbox, sender, signatures, payload,
automatic policy, and bearings/locations of events (see docs/alerts.md)."""
