"""Escalation connectors: where hand-offs go besides the built-in inbox (connectors.inbox)."""
