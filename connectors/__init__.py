"""The outside world: channels in and out (web chat, SMS) and escalation connectors."""
